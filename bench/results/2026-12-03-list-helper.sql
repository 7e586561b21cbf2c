-- bench/results/2026-12-03-list.md: one call of the membership set helper in a statement's InitPlan, by
-- variant (backend on-CPU time). psql -X -q -f this on the bench database as superuser; rolled back.
-- What one call of the membership set helper costs, in a statement's InitPlan (a new executor each time).
SELECT p.oid::regproc AS helper, pg_get_function_result(p.oid) AS rt FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'rowguard' AND p.proname LIKE 'rg_set_%' \gset
SELECT prosrc AS src FROM pg_proc WHERE oid = :'helper'::regproc \gset
BEGIN;
SELECT set_config('hasura.x_hasura_user_id','1',true) \g /dev/null
CREATE FUNCTION pg_temp.h_nocfg() RETURNS integer[] LANGUAGE plpgsql STABLE SECURITY DEFINER AS :'src';
CREATE FUNCTION pg_temp.h_invoker() RETURNS integer[] LANGUAGE plpgsql STABLE AS :'src';
CREATE FUNCTION pg_temp.h_const() RETURNS integer[] LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN RETURN '{1,34,67}'::integer[]; END $$;
CREATE FUNCTION pg_temp.loop(cnt int) RETURNS void LANGUAGE plpgsql AS $$
DECLARE n int; BEGIN FOR i IN 1..cnt LOOP EXECUTE 'EXECUTE q' INTO n; END LOOP; END $$;
CREATE FUNCTION pg_temp.oncpu() RETURNS bigint LANGUAGE sql AS $$ SELECT split_part(pg_read_file('/proc/self/schedstat'), ' ', 1)::bigint $$;
CREATE TEMP TABLE cpu(label text, ns bigint, n int);
\set N 5000
PREPARE q0 AS SELECT 1;
PREPARE q AS SELECT 1;
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'no helper (SELECT 1)', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT :helper()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'installed helper: plpgsql SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_nocfg()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, SECURITY DEFINER, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_invoker()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, invoker, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_const()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'constant body, SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT DISTINCT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body as an InitPlan, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body without DISTINCT, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT 1;
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'no helper (SELECT 1)', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT :helper()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'installed helper: plpgsql SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_nocfg()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, SECURITY DEFINER, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_invoker()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, invoker, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_const()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'constant body, SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT DISTINCT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body as an InitPlan, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body without DISTINCT, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT 1;
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'no helper (SELECT 1)', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT :helper()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'installed helper: plpgsql SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_nocfg()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, SECURITY DEFINER, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_invoker()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, invoker, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_const()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'constant body, SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT DISTINCT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body as an InitPlan, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body without DISTINCT, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT 1;
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'no helper (SELECT 1)', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT :helper()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'installed helper: plpgsql SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_nocfg()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, SECURITY DEFINER, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_invoker()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, invoker, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_const()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'constant body, SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT DISTINCT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body as an InitPlan, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body without DISTINCT, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT 1;
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'no helper (SELECT 1)', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT :helper()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'installed helper: plpgsql SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_nocfg()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, SECURITY DEFINER, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_invoker()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, invoker, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_const()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'constant body, SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT DISTINCT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body as an InitPlan, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body without DISTINCT, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT 1;
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'no helper (SELECT 1)', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT :helper()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'installed helper: plpgsql SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_nocfg()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, SECURITY DEFINER, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_invoker()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'same body, invoker, no SET', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT pg_temp.h_const()));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'constant body, SECURITY DEFINER SET search_path', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT DISTINCT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body as an InitPlan, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
PREPARE q AS SELECT cardinality((SELECT ARRAY(SELECT _rg0.org_id FROM public.memberships _rg0 WHERE _rg0.org_id IS NOT NULL AND (_rg0.user_id = (SELECT NULLIF(current_setting('hasura.x_hasura_user_id', true), '')::integer)))));
EXECUTE q \g /dev/null
SELECT pg_temp.oncpu() AS t0 \gset
SELECT pg_temp.loop(:N) \g /dev/null
INSERT INTO cpu SELECT 'the body without DISTINCT, no function', pg_temp.oncpu() - :t0, :N;
DEALLOCATE q;
SELECT label, round(min(ns::numeric / n / 1000), 1) AS min_us, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ns::float8 / n / 1000)::numeric, 1) AS median_us FROM cpu GROUP BY label ORDER BY median_us;
ROLLBACK;
