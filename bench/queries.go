package main

import (
	"encoding/json"
	"strconv"
)

// benchQuery is one measured GraphQL operation, in rowguard's (Hasura's)
// shape and in PostGraphile's.
type benchQuery struct {
	Name  string
	Title string
	// User is what a JWT user sends to rowguard; Admin what the admin
	// sends (the same unless a mutation must name what the user's preset
	// fills in).
	User, Admin string
	// PostGraphile is the same operation in PostGraphile's shape, sent with
	// the user's JWT; "" when not compared. PostGraphile's Node interface
	// takes the name id, so a column id is rowId there.
	PostGraphile string
}

// queries returns the benchmark's operations over d as user 1. org is an
// organization user 1 is a member of.
func queries(d dataset) []benchQuery {
	org := strconv.Itoa(d.membershipOrg(1, 1))
	list := `{ articles(limit: 20, order_by: {id: asc}) { id title author { id name } } }`
	nested := `{ organizations(limit: 10, order_by: {id: asc}) { id name articles(limit: 5, order_by: {id: asc}) { id title author { id name } } } }`
	aggregate := `{ articles_aggregate(where: {org_id: {_eq: ` + org + `}}) { aggregate { count } } }`
	membership := `{ articles(where: {org_id: {_eq: ` + org + `}}, limit: 20, order_by: {id: desc}) { id title org_id } }`
	return []benchQuery{
		{
			Name: "list", Title: "articles(limit: 20) with author",
			User: list, Admin: list,
			PostGraphile: `{ allArticles(first: 20, orderBy: PRIMARY_KEY_ASC) { nodes { rowId title userByAuthorId { rowId name } } } }`,
		},
		{
			Name: "nested", Title: "3 levels: organizations → articles → author",
			User: nested, Admin: nested,
			PostGraphile: `{ allOrganizations(first: 10, orderBy: PRIMARY_KEY_ASC) { nodes { rowId name articlesByOrgId(first: 5, orderBy: PRIMARY_KEY_ASC) { nodes { rowId title userByAuthorId { rowId name } } } } } }`,
		},
		{
			Name: "aggregate", Title: "count of one organization's articles",
			User: aggregate, Admin: aggregate,
			PostGraphile: `{ allArticles(condition: {orgId: ` + org + `}) { totalCount } }`,
		},
		{
			Name: "membership", Title: "articles visible through the membership rule",
			User: membership, Admin: membership,
			PostGraphile: `{ allArticles(condition: {orgId: ` + org + `}, first: 20, orderBy: PRIMARY_KEY_DESC) { nodes { rowId title orgId } } }`,
		},
		{
			Name: "mutation", Title: "insert one article",
			User:         `mutation { insert_articles_one(object: {title: "bench", org_id: ` + org + `}) { id } }`,
			Admin:        `mutation { insert_articles_one(object: {title: "bench", org_id: ` + org + `, author_id: 1}) { id } }`,
			PostGraphile: `mutation { createArticle(input: {article: {title: "bench", orgId: ` + org + `}}) { article { rowId } } }`,
		},
	}
}

// body renders a GraphQL request body.
func body(query string) string {
	b, _ := json.Marshal(map[string]string{"query": query})
	return string(b)
}
