package graphql

import (
	"container/list"
	"sync"

	"github.com/vektah/gqlparser/v2/ast"
)

// prepared is a parsed and validated operation of one role. When the
// operation declares no variables its plan and SQL cannot change from one
// request to the next, so they are kept too.
type prepared struct {
	doc   *ast.QueryDocument
	op    *ast.OperationDefinition
	plan  *plan        // nil when the operation has variables
	stmts []*statement // with plan; nil when plan needs no SQL
}

// planCache is a bounded LRU of prepared operations keyed by role, query
// text and operation name.
type planCache struct {
	mu    sync.Mutex
	size  int
	order *list.List // of *cacheEntry, most recent first
	byKey map[string]*list.Element
}

type cacheEntry struct {
	key string
	val *prepared
}

func newPlanCache(size int) *planCache {
	return &planCache{size: size, order: list.New(), byKey: map[string]*list.Element{}}
}

func cacheKey(role, query, opName string) string {
	return role + "\x00" + opName + "\x00" + query
}

func (c *planCache) get(key string) *prepared {
	if c.size <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	el := c.byKey[key]
	if el == nil {
		return nil
	}
	c.order.MoveToFront(el)
	return el.Value.(*cacheEntry).val
}

func (c *planCache) put(key string, p *prepared) {
	if c.size <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el := c.byKey[key]; el != nil {
		el.Value.(*cacheEntry).val = p
		c.order.MoveToFront(el)
		return
	}
	c.byKey[key] = c.order.PushFront(&cacheEntry{key: key, val: p})
	for c.order.Len() > c.size {
		last := c.order.Back()
		c.order.Remove(last)
		delete(c.byKey, last.Value.(*cacheEntry).key)
	}
}

// len returns how many operations the cache holds.
func (c *planCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
