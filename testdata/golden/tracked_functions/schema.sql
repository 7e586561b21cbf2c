CREATE TABLE gpa (id serial PRIMARY KEY, student_name text NOT NULL, gpa_score double precision NOT NULL, tutor_id int);
CREATE TABLE author (id serial PRIMARY KEY, name text, secret text);
CREATE TABLE article (id serial PRIMARY KEY, title text, author_id int REFERENCES author (id), is_published boolean NOT NULL DEFAULT false);
CREATE FUNCTION passed_students(pass_gpa double precision) RETURNS SETOF gpa
  AS $$ SELECT * FROM gpa WHERE gpa_score >= pass_gpa $$ LANGUAGE sql STABLE;
CREATE FUNCTION my_students(hasura_session json) RETURNS SETOF gpa
  AS $$ SELECT * FROM gpa WHERE tutor_id = (hasura_session ->> 'x-hasura-user-id')::int $$ LANGUAGE sql STABLE;
CREATE FUNCTION search_articles(author_row author, search text) RETURNS SETOF article
  AS $$ SELECT * FROM article WHERE author_id = author_row.id AND title ILIKE '%' || search || '%' $$ LANGUAGE sql STABLE;
