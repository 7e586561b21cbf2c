-- bench/results/2026-12-03-list-merge.md: the list statement's backend CPU and plans, as admin, as the
-- user with the statement main sends (the policy's filter over the primary key, bitmap scans on) and
-- with the statement this branch sends (graphql/merge.go: per key of the user's organizations and per
-- author, merged; bitmap scans off, as the server sets them for it). psql -X -f this on the bench
-- database as superuser (pg_read_file reads /proc/self/schedstat); needs articles_author_id_id_idx
-- (bench/dataset.go). One transaction, rolled back; ten rounds interleaved (admin, before, after).
-- -v keys=K first gives user 1 K organizations (every 100/K-th), inside the rolled-back transaction;
-- -v keys=-1 keeps the dataset's 3. The server renders the "after" statement with --merge-sets.
SELECT p.oid::regproc AS helper FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'rowguard' AND p.proname LIKE 'rg_set_%' \gset
\set uid '(SELECT NULLIF(current_setting(''hasura.x_hasura_user_id'', true), '''')::integer)'
\set json 'json_build_object(''id'', _t1."id", ''title'', _t1."title", ''author'', (SELECT json_build_object(''id'', _t6."id", ''name'', _t6."name") FROM "public"."users" _t6 WHERE _t6."id" = _t1."author_id" LIMIT 1))'
\set cols '_t1."id", _t1."title", _t1."author_id"'
\set before 'SELECT (SELECT coalesce(json_agg(_s2._e ORDER BY _s2._o0 ASC NULLS LAST), ''[]'') FROM (SELECT ' :json ' AS _e, _t1."id" AS _o0 FROM "public"."articles" _t1 ORDER BY _t1."id" ASC NULLS LAST LIMIT 20) _s2)'
\set after 'SELECT (SELECT coalesce(json_agg(_s2._e ORDER BY _s2._o0 ASC NULLS LAST), ''[]'') FROM (SELECT ' :json ' AS _e, _t1."id" AS _o0 FROM (SELECT * FROM ((SELECT ' :cols ' FROM "public"."articles" _t1 WHERE (_t1."author_id" = ' :uid ') ORDER BY _t1."id" ASC NULLS LAST LIMIT 20) UNION ALL (SELECT _x4.* FROM unnest(ARRAY(SELECT unnest(' :helper '()))) _k3(v) CROSS JOIN LATERAL (SELECT ' :cols ' FROM "public"."articles" _t1 WHERE _t1."org_id" = _k3.v AND (_t1."author_id" = ' :uid ') IS NOT TRUE ORDER BY _t1."id" ASC NULLS LAST LIMIT 20) _x4)) _u5 ORDER BY _u5."id" ASC NULLS LAST LIMIT 20) _t1) _s2)'
BEGIN;
DELETE FROM memberships WHERE user_id = 1 AND :keys >= 0;
INSERT INTO memberships SELECT 1, o FROM generate_series(1, 100, greatest(1, 100 / greatest(:keys, 1))) o WHERE :keys > 0 LIMIT greatest(:keys, 0);
SELECT count(*) AS organizations_of_user_1 FROM memberships WHERE user_id = 1;
SELECT set_config('hasura.x_hasura_user_id','1',true), set_config('jit','off',true) \g /dev/null
CREATE FUNCTION pg_temp.loop(s text, cnt int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE j json; BEGIN FOR i IN 1..cnt LOOP EXECUTE 'EXECUTE ' || s INTO j; END LOOP; END $$;
CREATE FUNCTION pg_temp.oncpu() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
CREATE TEMP TABLE cpu(label text, ns bigint, n int);
GRANT ALL ON cpu TO PUBLIC;
PREPARE before AS :before;
PREPARE after AS :after;
-- warm: the catalog caches and the helper's plan, as a pooled connection has them
EXECUTE before \g /dev/null
SET LOCAL ROLE rgbench_user;
EXECUTE before \g /dev/null
-- planned with bitmap scans off, as every run of it in the server is (a
-- cached plan keeps the settings it was planned with)
SET LOCAL enable_bitmapscan = off;
EXECUTE after \g /dev/null
RESET enable_bitmapscan;
\echo '### the same answer?'
EXECUTE before \gset b_
SET LOCAL enable_bitmapscan = off;
EXECUTE after \gset a_
SELECT :'b_coalesce'::jsonb = :'a_coalesce'::jsonb AS same_answer;
RESET enable_bitmapscan;
\echo '### user, before (main: the filter over the primary key)'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE before;
\echo '### user, after (this branch: per key and per author, merged; bitmap scans off)'
SET LOCAL enable_bitmapscan = off;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE after;
RESET enable_bitmapscan;
RESET ROLE;
\echo '### admin'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE before;
\set N 2000
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
SET LOCAL ROLE rgbench_user;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('before', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
SET LOCAL enable_bitmapscan = off;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop('after', :N) \g /dev/null
INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
RESET enable_bitmapscan;
RESET ROLE;
SELECT label, round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ns::float8 / n))::numeric / 1000, 1) AS median_us,
       round(min(ns::numeric / n) / 1000, 1) AS min_us, count(*) AS rounds
  FROM cpu GROUP BY label ORDER BY label;
ROLLBACK;
