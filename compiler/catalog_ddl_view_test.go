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
