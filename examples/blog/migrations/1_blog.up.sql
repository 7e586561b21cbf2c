CREATE TABLE organization (
  id serial PRIMARY KEY,
  name text NOT NULL
);

CREATE TABLE author (
  id serial PRIMARY KEY,
  name text NOT NULL,
  email text
);

CREATE TABLE organization_member (
  organization_id integer NOT NULL REFERENCES organization(id),
  member_id integer NOT NULL REFERENCES author(id),
  PRIMARY KEY (organization_id, member_id)
);

CREATE TABLE article (
  id serial PRIMARY KEY,
  title text NOT NULL,
  content text,
  published boolean NOT NULL DEFAULT false,
  user_id integer NOT NULL REFERENCES author(id),
  creator_id integer REFERENCES author(id),
  organization_id integer REFERENCES organization(id),
  created_at timestamp with time zone NOT NULL DEFAULT now()
);
CREATE INDEX article_user_id_idx ON article(user_id);
CREATE INDEX article_organization_id_idx ON article(organization_id);

CREATE TABLE tag (
  id serial PRIMARY KEY,
  name text NOT NULL UNIQUE
);

CREATE TABLE article_tag (
  article_id integer NOT NULL REFERENCES article(id) ON DELETE CASCADE,
  tag_id integer NOT NULL REFERENCES tag(id),
  PRIMARY KEY (article_id, tag_id)
);
