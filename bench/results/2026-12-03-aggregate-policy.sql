-- bench/results/2026-12-03-list-merge.md: a count of organization 34's articles shaped as rowguard's aggregate statement, as admin,
-- as the user, and as the user with the policy's OR arms swapped (ALTER POLICY inside the transaction).
-- psql -X -f this on the 1M bench database as superuser. One transaction, rolled back.
SELECT p.oid::regproc AS helper FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'rowguard' AND p.proname LIKE 'rg_set_%' \gset
\set uid '( SELECT (NULLIF(current_setting(''hasura.x_hasura_user_id''::text, true), ''''::text))::integer AS "nullif")'
\set orig '((author_id = ' :uid ') OR (org_id = ANY (ARRAY( SELECT unnest(' :helper '()) AS unnest))))'
\set swapped '((org_id = ANY (ARRAY( SELECT unnest(' :helper '()) AS unnest))) OR (author_id = ' :uid '))'
BEGIN;
SELECT set_config('hasura.x_hasura_user_id','1',true), set_config('jit','off',true) \g /dev/null
CREATE FUNCTION pg_temp.loop(s text, cnt int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE j json; BEGIN FOR i IN 1..cnt LOOP EXECUTE 'EXECUTE ' || s INTO j; END LOOP; END $$;
CREATE FUNCTION pg_temp.oncpu() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
CREATE TEMP TABLE cpu(label text, ns bigint, n int);
GRANT ALL ON cpu TO PUBLIC;
PREPARE agg AS SELECT json_build_object('aggregate', (SELECT json_build_object('count', count(*)) FROM (SELECT 1 FROM "public"."articles" _t1 WHERE (_t1."org_id" = 34)) _b2));
EXECUTE agg \g /dev/null
SET LOCAL ROLE rgbench_user; EXECUTE agg \g /dev/null; RESET ROLE;
\set N 300
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N; RESET ROLE;
ALTER POLICY rg_articles_select_user ON articles USING (:swapped);
SET LOCAL ROLE rgbench_user; SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, arms swapped', pg_temp.oncpu() - :t0, :N; RESET ROLE;
ALTER POLICY rg_articles_select_user ON articles USING (:orig);
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N; RESET ROLE;
ALTER POLICY rg_articles_select_user ON articles USING (:swapped);
SET LOCAL ROLE rgbench_user; SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, arms swapped', pg_temp.oncpu() - :t0, :N; RESET ROLE;
ALTER POLICY rg_articles_select_user ON articles USING (:orig);
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N; RESET ROLE;
ALTER POLICY rg_articles_select_user ON articles USING (:swapped);
SET LOCAL ROLE rgbench_user; SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('agg', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, arms swapped', pg_temp.oncpu() - :t0, :N; RESET ROLE;
ALTER POLICY rg_articles_select_user ON articles USING (:orig);
SELECT label, round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ns::float8 / n))::numeric / 1000, 1) AS median_us, round(min(ns::numeric / n) / 1000, 1) AS min_us, count(*) FROM cpu GROUP BY 1 ORDER BY 1;
SET LOCAL ROLE rgbench_user;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) EXECUTE agg;
ROLLBACK;
