# What every policy shares. A violation is one shape for all (contract: the webhook, levee
# audit and the metrics read `policy`, `rule`, `message` and `details`).
package levee.lib

violation(policy, rule, message, details) := {
	"policy": policy,
	"rule": rule,
	"message": message,
	"details": details,
}
