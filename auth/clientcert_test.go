package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/portcullis/portcullis/access"
)

func TestClientCert(t *testing.T) {
	alice := &x509.Certificate{Subject: pkix.Name{CommonName: "alice"}}
	bad := &x509.Certificate{Subject: pkix.Name{CommonName: "a:b"}}
	basicUser := access.Principal{Name: "bob", Method: access.MethodBasic}
	cases := []struct {
		name     string
		next     access.Principal
		nextErr  error
		state    *tls.ConnectionState
		wantName string
		wantMeth string
		wantErr  bool
	}{
		{"no TLS stays anonymous", access.Anonymous(), nil, nil, "", access.MethodAnonymous, false},
		{"unverified cert stays anonymous", access.Anonymous(), nil, &tls.ConnectionState{PeerCertificates: []*x509.Certificate{alice}}, "", access.MethodAnonymous, false},
		{"verified cert names the principal", access.Anonymous(), nil, &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{alice}}}, "alice", access.MethodMTLS, false},
		{"Basic wins over the certificate", basicUser, nil, &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{alice}}}, "bob", access.MethodBasic, false},
		{"bad Basic is not rescued by a certificate", access.Principal{}, access.ErrBadCredentials, &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{alice}}}, "", "", true},
		{"a CN with a colon is ignored", access.Anonymous(), nil, &tls.ConnectionState{VerifiedChains: [][]*x509.Certificate{{bad}}}, "", access.MethodAnonymous, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &ClientCert{Next: stubNext{tc.next, tc.nextErr}}
			r := httptest.NewRequest("GET", "/v2/", nil)
			r.TLS = tc.state
			p, err := c.Authenticate(t.Context(), r)
			if (err != nil) != tc.wantErr || (err != nil && !errors.Is(err, access.ErrBadCredentials)) {
				t.Fatalf("err = %v", err)
			}
			if err == nil && (p.Name != tc.wantName || p.Method != tc.wantMeth) {
				t.Fatalf("principal = %+v, want %s/%s", p, tc.wantName, tc.wantMeth)
			}
		})
	}
}

type stubNext struct {
	p   access.Principal
	err error
}

func (s stubNext) Authenticate(context.Context, *http.Request) (access.Principal, error) {
	return s.p, s.err
}
func (s stubNext) Challenge(*http.Request) string { return `Basic realm="x"` }
