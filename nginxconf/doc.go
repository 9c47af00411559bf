// Package nginxconf reads nginx configuration files the way nginx does: words separated by
// spaces, directives ended by ';', blocks in braces, single and double quotes with nginx's
// backslash escapes, '#' comments, and include directives (glob patterns, relative paths
// taken from the main file's directory, nginx's "conf prefix"). Every directive keeps the
// file and line it came from, and every error names them.
//
// It owns syntax only: it knows no directive's meaning, checks no argument counts and
// resolves no variables. Package migrate reads the meaning. Render writes a tree back as
// text nginx reads to the same tree (the property the fuzz test holds).
package nginxconf
