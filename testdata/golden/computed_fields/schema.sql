CREATE TABLE author (id serial PRIMARY KEY, name text);
CREATE TABLE article (id serial PRIMARY KEY, author_id int NOT NULL REFERENCES author (id), is_published boolean NOT NULL DEFAULT false);
CREATE TABLE student_marks (id serial PRIMARY KEY, name text NOT NULL UNIQUE, physics int, chemistry int);
CREATE FUNCTION get_articles(author_row author) RETURNS SETOF article
  AS $$ SELECT * FROM article WHERE author_id = author_row.id $$ LANGUAGE sql STABLE;
CREATE FUNCTION total_marks(student_row student_marks) RETURNS integer
  AS $$ SELECT student_row.physics + student_row.chemistry $$ LANGUAGE sql STABLE;
CREATE FUNCTION total_marks_offset(hasura_session json, student_row student_marks) RETURNS integer
  AS $$ SELECT student_row.physics + student_row.chemistry - (hasura_session ->> 'x-hasura-offset')::integer $$ LANGUAGE sql STABLE;
