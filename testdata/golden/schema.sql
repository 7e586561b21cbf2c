-- Shared schema of the golden cases; a case with its own schema.sql uses that instead.
CREATE TYPE mood AS ENUM ('happy', 'sad');

CREATE TABLE organization (
  id serial PRIMARY KEY,
  name text NOT NULL,
  tier integer NOT NULL DEFAULT 0
);

CREATE TABLE author (
  id serial PRIMARY KEY,
  name text NOT NULL,
  email character varying(200),
  organization_id integer REFERENCES organization(id),
  profile jsonb,
  mood mood,
  created_at timestamp with time zone NOT NULL DEFAULT now()
);

CREATE TABLE member (
  organization_id integer NOT NULL REFERENCES organization(id),
  user_id integer NOT NULL REFERENCES author(id),
  role text NOT NULL DEFAULT 'member',
  PRIMARY KEY (organization_id, user_id)
);

CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  body text,
  published boolean NOT NULL DEFAULT false,
  rating numeric(4,2),
  views bigint NOT NULL DEFAULT 0,
  author_id integer NOT NULL REFERENCES author(id),
  editor_id integer REFERENCES author(id),
  organization_id integer REFERENCES organization(id),
  tags text[],
  meta jsonb
);

CREATE TABLE comment (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  article_id integer NOT NULL REFERENCES article(id),
  author_id integer NOT NULL REFERENCES author(id),
  body text NOT NULL
);

CREATE SCHEMA audit;
CREATE TABLE audit.event (
  id serial PRIMARY KEY,
  actor_id integer,
  organization_id integer,
  kind text
);
