-- A view and a materialized view over tables with RLS of their own.
CREATE TABLE organization (
  id serial PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE member (
  organization_id integer NOT NULL REFERENCES organization(id),
  user_id integer NOT NULL,
  PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  body text,
  published boolean NOT NULL DEFAULT false,
  author_id integer NOT NULL,
  organization_id integer REFERENCES organization(id)
);

-- Automatically updatable: admin may write through it.
CREATE VIEW published_article AS
  SELECT id, title, author_id, organization_id FROM article WHERE published;

-- Read-only.
CREATE MATERIALIZED VIEW published_snapshot AS
  SELECT organization_id, author_id, title FROM article WHERE published;
