# The Rego test harness every policy's tests share: the cases in policies/cases/<id>.json go
# through levee's one entrypoint here, as test/policies/<id>.test.ts sends them through the
# compiled wasm bundle. (A _test.rego file: it is never compiled into the bundle.)
package levee.harness

import data.levee

# The rule ids a case produces, under its own configuration or else the default one.
rules_for(c) := rules if {
	rules := {v.rule | some v in levee.violations} with input as c.input
		with data.config as object.get(c, "config", data.cases.config)
}

# Whether every case produces exactly the rules it expects; the ones that do not are printed.
shared_cases_pass(cases) if {
	failures := [sprintf("%s: got %v, want %v", [c.name, rules_for(c), c.expect]) |
		some c in cases
		rules_for(c) != {r | some r in c.expect}
	]
	print(failures)
	count(failures) == 0
}

# The violation of `rule` that the case called `name` produces under the default configuration.
violation_of(cases, name, rule) := v if {
	some c in cases
	c.name == name
	some v in levee.violations with input as c.input with data.config as data.cases.config
	v.rule == rule
}
