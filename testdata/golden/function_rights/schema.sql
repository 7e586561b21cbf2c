-- Functions that read a table the role has no permission on: Hasura runs
-- them as the owner, so a computed field goes through its SECURITY DEFINER
-- helper even when the role may read every column, and a view calling
-- one is read through per-role SECURITY DEFINER sources. A function that
-- reads only its row argument is still called directly.
CREATE TABLE secret (id int PRIMARY KEY, label text NOT NULL);
CREATE TABLE item (id int PRIMARY KEY, owner_id int NOT NULL, name text NOT NULL);
CREATE FUNCTION item_secret_count(i item) RETURNS bigint
  LANGUAGE sql STABLE AS $$ SELECT count(*) FROM secret WHERE id <= i.id $$;
CREATE FUNCTION item_shout(i item) RETURNS text
  LANGUAGE sql STABLE AS $$ SELECT upper(i.name) $$;
CREATE FUNCTION secret_ids() RETURNS SETOF integer
  LANGUAGE plpgsql STABLE AS $$ BEGIN RETURN QUERY SELECT id FROM secret; END $$;
CREATE VIEW item_flag AS
  SELECT i.id, i.owner_id, i.id IN (SELECT * FROM secret_ids()) AS has_secret FROM item i;
CREATE VIEW item_plain AS SELECT id, owner_id, upper(name) AS name FROM item;
