package scenario

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// JUnit writes the results as JUnit XML, the report CI systems read: one
// testsuite, a testcase per scenario, a failure element per failing one.
func JUnit(w io.Writer, results []Result) error {
	type failure struct {
		Message string `xml:"message,attr"`
		Text    string `xml:",chardata"`
	}
	type testcase struct {
		Name      string   `xml:"name,attr"`
		Classname string   `xml:"classname,attr"`
		Time      string   `xml:"time,attr"`
		Failure   *failure `xml:"failure,omitempty"`
	}
	type testsuite struct {
		XMLName  xml.Name   `xml:"testsuite"`
		Name     string     `xml:"name,attr"`
		Tests    int        `xml:"tests,attr"`
		Failures int        `xml:"failures,attr"`
		Time     string     `xml:"time,attr"`
		Cases    []testcase `xml:"testcase"`
	}
	type testsuites struct {
		XMLName xml.Name    `xml:"testsuites"`
		Suites  []testsuite `xml:"testsuite"`
	}
	secs := func(d time.Duration) string { return fmt.Sprintf("%.3f", d.Seconds()) }
	suite := testsuite{Name: "replicant-lua test", Tests: len(results)}
	var total time.Duration
	for _, r := range results {
		c := testcase{Name: r.Name, Classname: "scenario", Time: secs(r.Duration)}
		if !r.Passed {
			suite.Failures++
			msg := r.Failures[0]
			if i := strings.IndexByte(msg, '\n'); i >= 0 {
				msg = msg[:i]
			}
			c.Failure = &failure{Message: msg, Text: strings.Join(r.Failures, "\n\n")}
		}
		total += r.Duration
		suite.Cases = append(suite.Cases, c)
	}
	suite.Time = secs(total)
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(testsuites{Suites: []testsuite{suite}}); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// JSON writes the results as one document: the counts and each scenario.
func JSON(w io.Writer, results []Result) error {
	_, failed := Summary(results)
	return json.NewEncoder(w).Encode(map[string]any{
		"passed": len(results) - failed, "failed": failed, "scenarios": results})
}
