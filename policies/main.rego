# The one entrypoint of levee's bundle. Every policy contributes its violations here;
# the list is explicit so that reading this file tells which policies ship.
package levee

import data.levee.policies.probe_gate
import data.levee.policies.probe_on_change
import data.levee.policies.scale_to_zero
import data.levee.policies.spot_capacity
import data.levee.policies.version_skew

decision := {"violations": violations}

violations := [v |
	some found in [scale_to_zero.violations, version_skew.violations, spot_capacity.violations, probe_gate.violations, probe_on_change.violations]
	some v in found
]
