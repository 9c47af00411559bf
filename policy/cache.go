package policy

import (
	"slices"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/portcullis/portcullis/access"
)

// decisionCache is a bounded LRU of decisions for one Engine. It lives and dies with the
// Engine, so a reload (a new Engine) starts empty: no invalidation is needed.
type decisionCache struct {
	lru *lru.Cache[string, access.Decision]
}

func newDecisionCache(size int) *decisionCache {
	c, err := lru.New[string, access.Decision](size)
	if err != nil { // only for size <= 0, which Compile never passes
		panic(err)
	}
	return &decisionCache{lru: c}
}

// get returns a copy, so a caller that appends to or edits the decision cannot change
// what the next caller sees.
func (c *decisionCache) get(key string) (access.Decision, bool) {
	d, ok := c.lru.Get(key)
	if !ok {
		return access.Decision{}, false
	}
	return cloneDecision(d), true
}

func (c *decisionCache) put(key string, d access.Decision) { c.lru.Add(key, cloneDecision(d)) }

func cloneDecision(d access.Decision) access.Decision {
	out := access.Decision{Reason: d.Reason, Granted: slices.Clone(d.Granted)}
	for i := range out.Granted {
		out.Granted[i].Actions = slices.Clone(out.Granted[i].Actions)
	}
	return out
}
