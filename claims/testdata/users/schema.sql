-- A user table as Nhost's, with a profile, organisations, memberships and
-- projects, for the claims tests.
CREATE SCHEMA auth;
CREATE TABLE auth.users (
  id uuid PRIMARY KEY,
  display_name text,
  m jsonb,
  metadata jsonb,
  settings json,
  tags text[]
);
CREATE TABLE public.organisation (id integer PRIMARY KEY, name text, data jsonb);
CREATE TABLE public.profile (
  user_id uuid PRIMARY KEY REFERENCES auth.users (id),
  plan text,
  big bigint,
  organisation_id integer REFERENCES public.organisation (id)
);
CREATE TABLE public.membership (
  id serial PRIMARY KEY,
  user_id uuid NOT NULL REFERENCES auth.users (id),
  organisation_id integer NOT NULL REFERENCES public.organisation (id),
  role text NOT NULL
);
CREATE TABLE public.project (
  id uuid PRIMARY KEY,
  organisation_id integer NOT NULL REFERENCES public.organisation (id),
  name text
);
