-- Set helpers that skip the intermediate table: each membership table's key
-- to the organization is validated and NOT DEFERRABLE at the end, whatever
-- it was when added.
CREATE TABLE org (id bigint PRIMARY KEY, name text NOT NULL);
CREATE TABLE member (org_id bigint NOT NULL, user_id bigint NOT NULL, PRIMARY KEY (org_id, user_id));
ALTER TABLE member ADD CONSTRAINT member_org_id_fkey FOREIGN KEY (org_id) REFERENCES org (id) DEFERRABLE NOT VALID;
ALTER TABLE member VALIDATE CONSTRAINT member_org_id_fkey;
ALTER TABLE member ALTER CONSTRAINT member_org_id_fkey NOT DEFERRABLE;

-- A chain: owner(org_id) is unique and references org, grantee references owner.
CREATE TABLE owner (org_id bigint PRIMARY KEY REFERENCES org, since date);
CREATE TABLE grantee (org_id bigint REFERENCES owner, user_id bigint NOT NULL);

CREATE TABLE doc (id bigint PRIMARY KEY, org_id bigint REFERENCES org, title text);
