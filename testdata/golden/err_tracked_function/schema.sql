CREATE TABLE gpa (id serial PRIMARY KEY, gpa_score double precision NOT NULL);
CREATE TABLE untracked (id int PRIMARY KEY);
CREATE FUNCTION bump() RETURNS SETOF gpa AS $$ UPDATE gpa SET gpa_score = gpa_score + 1 RETURNING * $$ LANGUAGE sql VOLATILE;
CREATE FUNCTION one_score() RETURNS double precision AS $$ SELECT max(gpa_score) FROM gpa $$ LANGUAGE sql STABLE;
CREATE FUNCTION others() RETURNS SETOF untracked AS $$ SELECT * FROM untracked $$ LANGUAGE sql STABLE;
CREATE FUNCTION with_session(s text) RETURNS SETOF gpa AS $$ SELECT * FROM gpa $$ LANGUAGE sql STABLE;
