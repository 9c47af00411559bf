package access

// Within returns what d grants that limit also allows, action by action: the decision for
// a principal whose credentials carry a limit (Principal.Limit). A "*" granted by one side
// is narrowed to the other side's actions.
func (d Decision) Within(limit Decision) Decision {
	out := Decision{Reason: d.Reason}
	for _, g := range d.Granted {
		r := Resource{Type: g.Type, Name: g.Name}
		for _, a := range g.Actions {
			if a == All {
				for _, l := range limit.Granted {
					if l.Type == g.Type && l.Name == g.Name {
						r.Actions = append(r.Actions, l.Actions...)
					}
				}
				continue
			}
			if limit.allowsAction(g.Type, g.Name, a) {
				r.Actions = append(r.Actions, a)
			}
		}
		if len(r.Actions) > 0 {
			out.Granted = append(out.Granted, r)
		}
	}
	return out
}
