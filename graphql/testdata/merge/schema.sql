-- testdata/branches' tables (an article is visible to its author or to
-- the members of its organization) with the indexes graphql/merge.go
-- reads each branch in order through: per organization and per author,
-- by id and by score; see merge_test.go.
CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE organizations (id integer PRIMARY KEY, name text NOT NULL);
CREATE TABLE memberships (
  user_id integer NOT NULL REFERENCES users(id),
  org_id integer NOT NULL REFERENCES organizations(id),
  PRIMARY KEY (user_id, org_id)
);
CREATE TABLE articles (
  id integer PRIMARY KEY,
  title text NOT NULL,
  score integer,
  author_id integer REFERENCES users(id),
  org_id integer REFERENCES organizations(id)
);
CREATE INDEX ON articles (org_id, id);
CREATE INDEX ON articles (author_id, id);
CREATE INDEX ON articles (org_id, score);
CREATE INDEX ON articles (author_id, score);
