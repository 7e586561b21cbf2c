package compiler

import (
	"strings"
	"testing"
)

// doDDL is what migrations do in DO blocks that ParseDDL can replay: IFs
// on what exists, in both directions, static SQL and EXECUTE of
// constants, and blocks that change nothing it tracks.
const doDDL = `
CREATE SCHEMA storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY);
CREATE TABLE storage.files (id uuid PRIMARY KEY, bucket_id text NOT NULL);
DO $$
BEGIN
  IF NOT EXISTS(SELECT table_name FROM information_schema.table_constraints
                 WHERE table_schema = 'storage' AND table_name = 'files' AND constraint_name = 'fk_bucket')
  THEN
    ALTER TABLE storage.files ADD CONSTRAINT fk_bucket FOREIGN KEY (bucket_id) REFERENCES storage.buckets (id);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'storage.files'::regclass AND conname = 'fk_bucket') THEN
    ALTER TABLE storage.files ADD COLUMN never int;
  END IF;
END $$;
CREATE TABLE trophies (id int PRIMARY KEY, manual boolean, name text);
DO $$
BEGIN
    IF to_regclass('public.trophies') IS NOT NULL AND to_regclass('public.awards') IS NULL THEN
        ALTER TABLE public.trophies RENAME TO awards;
    END IF;
    IF to_regclass('public.trophies') IS NOT NULL THEN
        DROP TABLE public.awards;
    ELSIF EXISTS (SELECT 1 FROM information_schema.columns
                   WHERE table_schema = 'public' AND table_name = 'awards' AND column_name = 'manual') THEN
        UPDATE public.awards SET name = 'm' WHERE manual;
        ALTER TABLE public.awards DROP COLUMN manual;
    ELSE
        ALTER TABLE public.awards ADD COLUMN never int;
    END IF;
    IF to_regtype('public.kind') IS NULL THEN
        EXECUTE 'CREATE TYPE public.kind AS ENUM (''a'', ''b'')';
        EXECUTE 'ALTER TABLE public.awards ADD COLUMN kind ' || 'public.kind';
    END IF;
END $$;
-- Create unless it exists: the idiom of an EXCEPTION handler catching
-- duplicate_object, run twice.
DO $$ BEGIN
  CREATE TYPE mood AS ENUM ('up', 'down');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
  CREATE TYPE mood AS ENUM ('up', 'down');
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
  ALTER TABLE awards ADD COLUMN feeling mood;
EXCEPTION WHEN duplicate_column THEN RAISE NOTICE 'already there';
END $$;
DO $$ BEGIN
  ALTER TABLE awards ADD COLUMN feeling text;
EXCEPTION WHEN duplicate_column THEN RAISE NOTICE 'already there';
END $$;
DO $$ BEGIN
  ALTER TABLE awards ADD CONSTRAINT awards_name_key UNIQUE (name);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL;
END $$;
DO $$ BEGIN
  ALTER TABLE awards ADD CONSTRAINT awards_name_key UNIQUE (name, id);
EXCEPTION WHEN duplicate_table OR duplicate_object THEN NULL;
END $$;
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT id FROM awards LOOP
    UPDATE awards SET name = 'x' WHERE id = r.id;
  END LOOP;
  BEGIN
    LOCK TABLE awards IN ACCESS EXCLUSIVE MODE NOWAIT;
  EXCEPTION WHEN lock_not_available THEN
    PERFORM pg_sleep(0.1);
  END;
  IF EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 't') THEN
    ALTER TABLE awards DISABLE TRIGGER t;
  END IF;
END $$;
`

func TestParseDDLRefusesWhatOnlyTheDatabaseKnows(t *testing.T) {
	const table = "CREATE TABLE a (id int PRIMARY KEY, b text);\n"
	for _, c := range []struct{ name, sql, want string }{
		{"IF on a variable", table + `DO $$
DECLARE v text;
BEGIN
  SELECT conname INTO v FROM pg_constraint WHERE conrelid = 'a'::regclass AND contype = 'p';
  IF v IS NOT NULL THEN
    EXECUTE 'ALTER TABLE a DROP CONSTRAINT ' || quote_ident(v);
  END IF;
END $$;`, "schema.sql:6:3: DO block: IF v IS NOT NULL: the condition cannot be told offline and a branch changes the schema; read the catalog with --database-url"},
		{"loop", table + `DO $$ BEGIN
  FOR i IN 1..3 LOOP
    EXECUTE format('ALTER TABLE a ADD COLUMN c%s int', i);
  END LOOP;
END $$;`, "schema.sql:3:3: DO block: a loop changes the schema"},
		{"computed EXECUTE", table + `DO $$ BEGIN EXECUTE 'ALTER TABLE a ' || current_setting('x.y'); END $$;`,
			"schema.sql:2:7: DO block: EXECUTE of a computed string"},
		{"EXCEPTION", table + "DO $$ BEGIN\n  BEGIN\n    ALTER TABLE a DROP COLUMN b;\n  EXCEPTION WHEN undefined_column THEN NULL;\n  END;\nEND $$;",
			"schema.sql:3:3: DO block: statements that change the schema under an EXCEPTION handler"},
		{"condition on data", table + "DO $$ BEGIN\n  IF EXISTS (SELECT FROM a WHERE id = 1) THEN\n    DROP TABLE a;\n  END IF;\nEND $$;",
			"schema.sql:3:3: DO block: IF EXISTS (SELECT FROM a WHERE id = 1): the condition cannot be told offline"},
		{"error inside a block", table + "DO $$\nBEGIN\n  IF to_regclass('a') IS NOT NULL THEN\n    ALTER TABLE a DROP COLUMN nope;\n  END IF;\nEND $$;",
			"schema.sql:5:17: alter table public.a: no column \"nope\""},
		{"periods", table + "CREATE EXTENSION periods;\nSELECT periods.add_system_versioning('a');",
			"schema.sql:3:1: periods.add_system_versioning(…) creates or changes tables and views"},
		{"other language", table + "DO LANGUAGE plperl $$ 1 $$;", "schema.sql:2:1: DO block in language plperl"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDDL([]DDLFile{{Name: "schema.sql", SQL: c.sql}})
			if err == nil || !strings.HasPrefix(err.Error(), c.want) {
				t.Errorf("got %v\nwant %s…", err, c.want)
			}
		})
	}
}

func TestParseDDLRefusesCallsOfSchemaChangingFunctions(t *testing.T) {
	const fns = `CREATE TABLE a (id int PRIMARY KEY);
CREATE FUNCTION add_col(n text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER TABLE a ADD COLUMN %I int', n);
END $$;
CREATE FUNCTION make_b() RETURNS void LANGUAGE sql AS 'CREATE TABLE b (id int)';
CREATE FUNCTION harmless(x int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN x + 1; END $$;
CREATE FUNCTION via() RETURNS void LANGUAGE sql AS 'SELECT make_b()';
CREATE PROCEDURE proc() LANGUAGE plpgsql AS $$ BEGIN DROP TABLE a; END $$;
SELECT harmless(1);
INSERT INTO a VALUES (harmless(2));
`
	for _, c := range []struct{ sql, want string }{
		{"SELECT add_col('x');", "schema.sql:12:1: this calls public.add_col(…), whose body changes the schema in ways the offline catalog cannot follow; read the catalog with --database-url"},
		{"SELECT * FROM make_b();", "schema.sql:12:1: this calls public.make_b(…)"},
		{"SELECT via();", "schema.sql:12:1: this calls public.via(…)"},
		{"CALL proc();", "schema.sql:12:1: this calls public.proc(…)"},
		{"INSERT INTO a SELECT 1 WHERE public.add_col('y') IS NULL;", "schema.sql:12:1: this calls public.add_col(…)"},
		{"DO $$ BEGIN PERFORM add_col('z'); END $$;", "schema.sql:12:7: this calls public.add_col(…)"},
	} {
		_, err := ParseDDL([]DDLFile{{Name: "schema.sql", SQL: fns + c.sql}})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s\n got %v\nwant %s…", c.sql, err, c.want)
		}
	}
	if _, err := ParseDDL([]DDLFile{{Name: "schema.sql", SQL: fns}}); err != nil {
		t.Errorf("calls of functions that change nothing: %v", err)
	}
}
