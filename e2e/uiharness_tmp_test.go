package e2e

import (
	"testing"
)

func TestUIHarnessTmp(t *testing.T) {
	g := startGateway(t, t.TempDir(), append(uiAuthFlags(t), "--audit-log", t.TempDir()+"/audit.log")...)
	f := pushUIFixtures(t, g)
	t.Logf("fixtures %+v", f)
	if _, err := remoteGet(t, g, uiPrivateRepo+":1", uiOther, uiOtherPass); err == nil {
		t.Errorf("bob pulled private")
	}
	if _, err := remoteGet(t, g, uiAppRepo+":1.0", uiOther, uiOtherPass); err != nil {
		t.Errorf("bob app: %v", err)
	}
	resp, b := g.call(t, "GET", "/v2/"+uiAppRepo+"/referrers/"+f.index.String(), uiOther, uiOtherPass, nil, nil)
	t.Logf("referrers %d %s", resp.StatusCode, b)
	br := newBrowser(t, g, t.ArtifactDir())
	tb := br.newTab("alice")
	st := tb.open("/nowhere")
	t.Logf("status %d loc %s", st, tb.location())
	tb.screenshot("v2")
	tb.checkQuiet("v2")
	st = tb.open("/nowhere")
	t.Logf("status %d", st)
	r := tb.reset()
	t.Logf("%+v", r)
}
