CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE place (
  id serial PRIMARY KEY,
  name text NOT NULL,
  geom geometry(Point,4326) NOT NULL,
  area geography
);
