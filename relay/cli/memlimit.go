package cli

import (
	"log/slog"
	"math"

	"github.com/KimMachineGun/automemlimit/memlimit"
)

// memLimitRatio is the share of the container's memory limit given to Go's
// soft memory limit: the rest covers what the collector does not manage.
const memLimitRatio = 0.9

// setMemoryLimit sets Go's soft memory limit (GOMEMLIMIT) to 90% of the
// container's memory limit (cgroup v1 or v2), so that the collector works
// harder as the relay nears it instead of the kernel killing it. GOMEMLIMIT,
// when set, wins; AUTOMEMLIMIT=off turns this off; without a container limit
// nothing changes.
func setMemoryLimit(log *slog.Logger) {
	limit, err := memlimit.Set(memlimit.WithProvider(memlimit.FromCgroup), memlimit.WithRatio(memLimitRatio))
	switch {
	case err != nil:
		log.Debug("no container memory limit read; Go's memory limit left as is", "error", err)
	case limit > 0 && limit < math.MaxInt64:
		log.Info("Go memory limit set", "GOMEMLIMIT", limit)
	}
}
