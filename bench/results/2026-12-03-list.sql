-- bench/results/2026-12-03-list.md: the list statement's backend CPU as admin, and as the user under
-- the policy before and after each change (cast outside/inside the InitPlan; the set as a scalar
-- subquery or an ARRAY sublink; the set as a constant, for attribution only). psql -X -f this on the
-- bench database as superuser (pg_read_file reads /proc/self/schedstat). One transaction, rolled back.
-- The list statement as rowguard sends it, as the user, under the policy as
-- main installs it (cast per row) and as this branch installs it (cast in
-- the InitPlan), in one transaction that is rolled back; then as admin.
SELECT p.oid::regproc AS helper FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'rowguard' AND p.proname LIKE 'rg_set_%' \gset
\set old '((author_id = (( SELECT NULLIF(current_setting(''hasura.x_hasura_user_id''::text, true), ''''::text) AS "nullif"))::integer) OR (org_id = ANY (( SELECT ' :helper '() AS h)::integer[])))'
\set new '((author_id = ( SELECT (NULLIF(current_setting(''hasura.x_hasura_user_id''::text, true), ''''::text))::integer AS "nullif")) OR (org_id = ANY (( SELECT ' :helper '() AS h)::integer[])))'
\set stmt 'SELECT (SELECT coalesce(json_agg(_s2._e ORDER BY _s2._o0 ASC NULLS LAST), ''[]'') FROM (SELECT json_build_object(''id'', _t1."id", ''title'', _t1."title", ''author'', (SELECT json_build_object(''id'', _t3."id", ''name'', _t3."name") FROM "public"."users" _t3 WHERE _t3."id" = _t1."author_id" LIMIT 1)) AS _e, _t1."id" AS _o0 FROM "public"."articles" _t1 ORDER BY _t1."id" ASC NULLS LAST LIMIT 20) _s2)'
BEGIN;
SELECT set_config('hasura.x_hasura_user_id','1',true), set_config('jit','off',true) \g /dev/null
CREATE FUNCTION pg_temp.loop(cnt int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE j json; BEGIN FOR i IN 1..cnt LOOP EXECUTE 'EXECUTE liststmt' INTO j; END LOOP; END $$;
CREATE FUNCTION pg_temp.oncpu() RETURNS bigint LANGUAGE sql AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
CREATE TEMP TABLE cpu(label text, ns bigint, n int);
GRANT ALL ON cpu TO PUBLIC;
SELECT :helper()::text AS theset \gset
\set flat '((author_id = ( SELECT (NULLIF(current_setting(''hasura.x_hasura_user_id''::text, true), ''''::text))::integer AS "nullif")) OR (org_id = ANY (ARRAY( SELECT unnest(' :helper '()) AS h))))'
\set const '((author_id = ( SELECT (NULLIF(current_setting(''hasura.x_hasura_user_id''::text, true), ''''::text))::integer AS "nullif")) OR (org_id = ANY (''' :theset '''::integer[])))'
PREPARE liststmt AS :stmt;
-- warm: the catalog caches and the helper's plan, as a pooled connection has them
EXECUTE liststmt \g /dev/null
EXECUTE liststmt \g /dev/null
SET LOCAL ROLE rgbench_user;
EXECUTE liststmt \g /dev/null
EXECUTE liststmt \g /dev/null
RESET ROLE;
\set N 3000
\echo '### admin'
EXPLAIN (ANALYZE, BUFFERS) EXECUTE liststmt;
\echo '### user, before (the cast outside the InitPlan)'
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SET LOCAL ROLE rgbench_user;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE liststmt;
RESET ROLE;
\echo '### user, after (the cast inside the InitPlan)'
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SET LOCAL ROLE rgbench_user;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE liststmt;
RESET ROLE;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'admin', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:old);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, before', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:new);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:const);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, the set as a constant (attribution only)', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SELECT pg_temp.oncpu() AS t0 \gset
SET LOCAL ROLE rgbench_user; SELECT pg_temp.loop(:N) \g /dev/null
RESET ROLE; INSERT INTO cpu SELECT 'user, after + set as ARRAY(SELECT unnest(helper()))', pg_temp.oncpu() - :t0, :N;
ALTER POLICY rg_articles_select_user ON articles USING (:flat);
SET LOCAL ROLE rgbench_user;
EXPLAIN (ANALYZE, BUFFERS) EXECUTE liststmt;
RESET ROLE;
\echo '### backend CPU per statement (schedstat on-CPU time / executions), 10 rounds'
SELECT label, round(min(ns::numeric / n / 1000), 1) AS min_us, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ns::float8 / n / 1000)::numeric, 1) AS median_us FROM cpu GROUP BY label ORDER BY label;
ROLLBACK;
