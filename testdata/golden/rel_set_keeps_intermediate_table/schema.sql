-- Set helpers that must read the organization: no key PostgreSQL holds at
-- every statement's end between the membership table and it, or keys of
-- other types, or a condition on the organization itself.
CREATE TABLE org (id bigint PRIMARY KEY, tier integer NOT NULL DEFAULT 0);
CREATE TABLE member_not_valid (org_id bigint NOT NULL, user_id bigint NOT NULL);
ALTER TABLE member_not_valid ADD FOREIGN KEY (org_id) REFERENCES org NOT VALID;
CREATE TABLE member_deferrable (org_id bigint NOT NULL REFERENCES org DEFERRABLE INITIALLY IMMEDIATE, user_id bigint NOT NULL);
CREATE TABLE member_no_key (org_id bigint NOT NULL, user_id bigint NOT NULL);
CREATE TABLE member_narrow (org_id integer NOT NULL REFERENCES org, user_id bigint NOT NULL);
CREATE TABLE member (org_id bigint NOT NULL REFERENCES org, user_id bigint NOT NULL);

CREATE TABLE doc (id bigint PRIMARY KEY, org_id bigint REFERENCES org, title text);
