TRUNCATE article_tag, tag, article, organization_member, author, organization RESTART IDENTITY;
