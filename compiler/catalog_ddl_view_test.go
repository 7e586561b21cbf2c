package compiler

// joinsDDL has views over joins that merge columns (USING, NATURAL) and
// joins with an alias, whose * ParseDDL must expand as PostgreSQL does.
const joinsDDL = `
CREATE TABLE ja (id int PRIMARY KEY, k int, a text);
CREATE TABLE jb (id int, k bigint, b text);
CREATE TABLE jc (id int, c text);
CREATE VIEW j_using AS SELECT * FROM ja JOIN jc USING (id);
CREATE VIEW j_natural AS SELECT * FROM ja NATURAL LEFT JOIN jb;
CREATE VIEW j_alias AS SELECT j.* FROM (ja JOIN jc USING (id)) AS j (x);
CREATE VIEW j_qual AS SELECT ja.a, jb.b, id, jb.k AS jk, ja.k FROM ja JOIN jb USING (id);
CREATE VIEW j_three AS SELECT * FROM ja JOIN jc USING (id) JOIN jb USING (id, k);
CREATE VIEW j_plain AS SELECT * FROM ja, (SELECT c AS cc FROM jc) s;
`

// functionViewsDDL selects from functions of the files: OUT and TABLE
// arguments, a table's row type, a scalar named by alias or function.
const functionViewsDDL = `
CREATE TABLE fa (id int PRIMARY KEY, name text);
CREATE FUNCTION pairs(n int) RETURNS TABLE (a int, b text) LANGUAGE sql AS 'SELECT n, ''x''';
CREATE FUNCTION single(n int) RETURNS TABLE (only_one bigint) LANGUAGE sql AS 'SELECT n::bigint';
CREATE FUNCTION outs(n int, OUT x int, OUT y numeric) LANGUAGE sql AS 'SELECT n, 1.5';
CREATE FUNCTION rows_of() RETURNS SETOF fa LANGUAGE sql AS 'SELECT * FROM fa';
CREATE FUNCTION scalar(n int) RETURNS date LANGUAGE sql AS 'SELECT current_date';
CREATE VIEW v_pairs AS SELECT * FROM pairs(1);
CREATE VIEW v_pairs_renamed AS SELECT p.* FROM pairs(1) AS p (first);
CREATE VIEW v_single AS SELECT * FROM single(1) AS s;
CREATE VIEW v_outs AS SELECT o.y, o.x FROM outs(1) o;
CREATE VIEW v_rows AS SELECT r.* FROM rows_of() r;
CREATE VIEW v_scalar AS SELECT * FROM scalar(1);
CREATE VIEW v_scalar_alias AS SELECT d FROM scalar(1) AS d;
CREATE FUNCTION one_out(OUT z int) LANGUAGE sql AS 'SELECT 1';
CREATE VIEW v_one_out AS SELECT * FROM one_out() AS q;
CREATE VIEW v_lateral AS SELECT fa.id, p.b FROM fa CROSS JOIN LATERAL pairs(fa.id) p;
`
