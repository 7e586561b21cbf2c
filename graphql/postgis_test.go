package graphql_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rowguard/rowguard/internal/pgtest"
	"github.com/rowguard/rowguard/policies"
)

const placeSchema = `
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE place (
  id integer PRIMARY KEY,
  name text NOT NULL,
  geom geometry NOT NULL,
  spot geography
);
INSERT INTO place VALUES
  (1, 'origin', ST_GeomFromEWKT('SRID=4326;POINT(0 0)'), 'SRID=4326;POINT(0 0)'),
  (2, 'near', ST_GeomFromEWKT('SRID=4326;POINT(0.5 0.5)'), 'SRID=4326;POINT(0 0.001)'),
  (3, 'far', ST_GeomFromEWKT('SRID=4326;POINT(10 10)'), 'SRID=4326;POINT(10 10)');
`

const placeMetadata = `
- table: {schema: public, name: place}
  select_permissions:
  - role: local
    permission:
      columns: [id, name, geom, spot]
      filter:
        geom:
          $st_d_within:
            distance: 1
            from: {type: Point, coordinates: [0, 0]}
  - role: visitor
    permission:
      columns: [id, name, geom, spot]
      filter:
        geom: {_st_d_within: {distance: X-Hasura-Dist, from: X-Hasura-Here}}
`

// TestPostGIS: PostGIS operators in permissions (constants and session
// variables) and in where, and GeoJSON output as Hasura writes it.
func TestPostGIS(t *testing.T) {
	// CREATE EXTENSION needs the PostGIS files of the server's version
	// (scripts/ensure-postgres.sh installs them); skip only without them.
	url := pgtest.NewDatabase(t)
	conn := pgtest.Connect(t, url)
	if _, err := conn.Exec(context.Background(), "CREATE EXTENSION IF NOT EXISTS postgis"); err != nil {
		t.Skipf("PostGIS is not installed for this PostgreSQL (run scripts/ensure-postgres.sh): %v", err)
	}
	md, err := policies.Parse("metadata.yaml", []byte(placeMetadata))
	if err != nil {
		t.Fatal(err)
	}
	b := newServed(t, []string{placeSchema}, md)
	cases := []struct {
		name    string
		query   string
		headers []string
		want    string
	}{
		{
			name:    "a constant GeoJSON in the rule, GeoJSON out with the long CRS",
			query:   `{ place(order_by: {id: asc}) { id geom } }`,
			headers: []string{"X-Hasura-Role: local"},
			want:    `{"data":{"place":[{"id":1,"geom":{"type":"Point","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4326"}},"coordinates":[0,0]}},{"id":2,"geom":{"type":"Point","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4326"}},"coordinates":[0.5,0.5]}}]}}`,
		},
		{
			name:    "session variables in the rule",
			query:   `{ place(order_by: {id: asc}) { id } }`,
			headers: []string{"X-Hasura-Role: visitor", "X-Hasura-Dist: 2", `X-Hasura-Here: {"type":"Point","coordinates":[10,9]}`},
			want:    `{"data":{"place":[{"id":3}]}}`,
		},
		{
			name:  "_st_within and _st_d_within in where",
			query: `{ a: place(where: {geom: {_st_within: {type: "Polygon", coordinates: [[[-1,-1],[-1,0.1],[0.1,0.1],[0.1,-1],[-1,-1]]]}}}) { id } b: place(where: {geom: {_st_d_within: {distance: 0.8, from: {type: "Point", coordinates: [1, 1]}}}}) { id } }`,
			want:  `{"data":{"a":[{"id":1}],"b":[{"id":2}]}}`,
		},
		{
			name:  "geography: _st_d_within in metres with use_spheroid",
			query: `{ place(where: {spot: {_st_d_within: {distance: 200, from: {type: "Point", coordinates: [0, 0]}, use_spheroid: false}}}, order_by: {id: asc}) { id } }`,
			want:  `{"data":{"place":[{"id":1},{"id":2}]}}`,
		},
		{
			name:  "GeoJSON in an insert",
			query: `mutation { insert_place_one(object: {id: 4, name: "new", geom: {type: "Point", coordinates: [1, 2]}}) { id geom } }`,
			want:  `{"data":{"insert_place_one":{"id":4,"geom":{"type":"Point","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::4326"}},"coordinates":[1,2]}}}}`,
		},
		{
			name:  "GeoJSON with _eq",
			query: `{ place(where: {geom: {_eq: {type: "Point", coordinates: [1, 2]}}}) { id } }`,
			want:  `{"data":{"place":[{"id":4}]}}`,
		},
		{
			name:    "the operators need a PostGIS column",
			query:   `{ place(where: {name: {_st_within: {type: "Point", coordinates: [0, 0]}}}) { id } }`,
			headers: []string{"X-Hasura-Role: local"},
			want:    `_st_within`,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, got := b.post(t, graphQLBody(c.query), c.headers...)
			if strings.HasPrefix(c.want, "{") {
				if got != c.want {
					t.Errorf("(-want +got):\n- %s\n+ %s", c.want, got)
				}
				return
			}
			if !strings.Contains(got, `"errors"`) || !strings.Contains(got, c.want) {
				t.Errorf("want an error naming %s, got %s", c.want, got)
			}
		})
	}
}

// graphQLBody wraps a query in a request body.
func graphQLBody(query string) string {
	q, _ := json.Marshal(query)
	return `{"query":` + string(q) + `}`
}
