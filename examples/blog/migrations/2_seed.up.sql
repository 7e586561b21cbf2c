INSERT INTO organization (name) VALUES ('Acme'), ('Globex');
INSERT INTO author (name, email) VALUES ('Alice', 'alice@example.com'), ('Bob', 'bob@example.com'), ('Carol', 'carol@example.com');
INSERT INTO organization_member VALUES (1, 1), (1, 2), (2, 3);
INSERT INTO article (title, content, published, user_id, creator_id, organization_id) VALUES
  ('Alice public', 'hello', true, 1, 1, 1),
  ('Alice draft', 'wip', false, 1, 1, 1),
  ('Bob public', 'hi', true, 2, 2, 1),
  ('Carol draft', 'secret', false, 3, 3, 2);
INSERT INTO tag (name) VALUES ('go'), ('postgres');
INSERT INTO article_tag VALUES (1, 1), (1, 2), (3, 2);
