-- Two views whose per-role views would take the same name.
CREATE TABLE item (id integer PRIMARY KEY);
CREATE VIEW a_b AS SELECT id FROM item;
CREATE VIEW a AS SELECT id FROM item;
