-- bench/results/2026-12-03-list-merge.md: the membership statement (organization 34's latest 20, as
-- graphql/branches.go splits it for the user) as admin and as the user (bitmap scans off, as the server
-- runs it). psql -X -f this on the 1M bench database as superuser. One transaction, rolled back.
BEGIN;
SELECT set_config('hasura.x_hasura_user_id','1',true), set_config('jit','off',true) \g /dev/null
CREATE FUNCTION pg_temp.loop(s text, cnt int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE j json; BEGIN FOR i IN 1..cnt LOOP EXECUTE 'EXECUTE ' || s INTO j; END LOOP; END $$;
CREATE FUNCTION pg_temp.oncpu() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
CREATE TEMP TABLE cpu(label text, ns bigint, n int);
GRANT ALL ON cpu TO PUBLIC;
PREPARE mu(text, text, text) AS SELECT (SELECT coalesce(json_agg(_s2._e ORDER BY _s2._o0 DESC NULLS FIRST), '[]') FROM (SELECT _u3._e, _u3._o0 FROM ((SELECT json_build_object('id', _t1."id", 'title', _t1."title", 'org_id', _t1."org_id") AS _e, _t1."id" AS _o0 FROM "public"."articles" _t1 WHERE (_t1."org_id" = $2::integer) AND (_t1."author_id" = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)) ORDER BY _t1."id" DESC NULLS FIRST LIMIT 20) UNION ALL (SELECT json_build_object('id', _t1."id", 'title', _t1."title", 'org_id', _t1."org_id") AS _e, _t1."id" AS _o0 FROM "public"."articles" _t1 WHERE (_t1."org_id" = $3::integer) AND ($1::integer = ANY (ARRAY(SELECT unnest(rowguard."rg_set_0cdb8882b0aa"())))) AND (_t1."author_id" = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)) IS NOT TRUE ORDER BY _t1."id" DESC NULLS FIRST LIMIT 20)) _u3 ORDER BY _u3._o0 DESC NULLS FIRST LIMIT 20) _s2);
PREPARE ma(text) AS SELECT (SELECT coalesce(json_agg(_s2._e ORDER BY _s2._o0 DESC NULLS FIRST), '[]') FROM (SELECT json_build_object('id', _t1."id", 'title', _t1."title", 'org_id', _t1."org_id") AS _e, _t1."id" AS _o0 FROM "public"."articles" _t1 WHERE (_t1."org_id" = $1::integer) ORDER BY _t1."id" DESC NULLS FIRST LIMIT 20) _s2);
EXECUTE ma('34') \g /dev/null
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
EXECUTE mu('34', '34', '34') \g /dev/null
EXPLAIN (ANALYZE, BUFFERS) EXECUTE mu('34', '34', '34');
RESET enable_bitmapscan; RESET ROLE;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE ma('34');
\set N 2000
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('ma(''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user; SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('mu(''34'', ''34'', ''34'')', :N) \g /dev/null
INSERT INTO cpu SELECT 'user', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan; RESET ROLE;
SELECT label, round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ns::float8 / n))::numeric / 1000, 1) AS median_us,
       round(min(ns::numeric / n) / 1000, 1) AS min_us, count(*) AS rounds
  FROM cpu GROUP BY label ORDER BY label;
ROLLBACK;
