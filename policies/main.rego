# The one entrypoint of levee's bundle. Every policy contributes its violations here;
# the list is explicit so that reading this file tells which policies ship.
package levee

import data.levee.policies.scale_to_zero

decision := {"violations": violations}

violations := [v | some v in scale_to_zero.violations]
