// Command evaluator is a scheduler plugin ordering parents by finished pieces
// and upload failure rate. Build it with go build -buildmode=plugin into
// d7y-scheduler-plugin-evaluator.so.
package main

import (
	"fmt"
	"sort"
	"strconv"

	"plugin-builder.dev/host/sdk"
)

const (
	name    = "evaluator"
	version = "0.1.0"

	// optBadNodeFailures is the option holding the number of upload failures
	// from which a peer is a bad node.
	optBadNodeFailures     = "bad-node-failures"
	defaultBadNodeFailures = 10
)

type evaluator struct{ badNodeFailures int32 }

var _ sdk.Evaluator = (*evaluator)(nil)

// failureRate is the share of failed uploads, 0 for a peer without uploads.
func failureRate(p *sdk.Peer) float64 {
	total := p.UploadFailedCount + p.UploadSuccessCount
	if total <= 0 {
		return 0
	}
	return float64(p.UploadFailedCount) / float64(total)
}

// score is high for parents with many finished pieces and few failed uploads.
func score(p *sdk.Peer, totalPieceCount int32) float64 {
	finished := float64(p.FinishedPieces)
	if totalPieceCount > 0 {
		finished /= float64(totalPieceCount)
	}
	return finished * (1 - failureRate(p))
}

// EvaluateParents returns a copy of parents, best first; nil parents are dropped.
func (e *evaluator) EvaluateParents(parents []*sdk.Peer, child *sdk.Peer, totalPieceCount int32) []*sdk.Peer {
	sorted := make([]*sdk.Peer, 0, len(parents))
	for _, p := range parents {
		if p != nil {
			sorted = append(sorted, p)
		}
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		return score(sorted[i], totalPieceCount) > score(sorted[j], totalPieceCount)
	})
	return sorted
}

// IsBadNode reports peers with at least badNodeFailures failed uploads, more
// failed than successful.
func (e *evaluator) IsBadNode(p *sdk.Peer) bool {
	return p == nil || (p.UploadFailedCount >= e.badNodeFailures && failureRate(p) > 0.5)
}

// DragonflyPluginInit is the plugin entry point.
func DragonflyPluginInit(options map[string]string) (any, map[string]string, error) {
	e := &evaluator{badNodeFailures: defaultBadNodeFailures}
	if v, ok := options[optBadNodeFailures]; ok {
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n <= 0 {
			return nil, nil, fmt.Errorf("evaluator: option %s=%q: want a positive integer", optBadNodeFailures, v)
		}
		e.badNodeFailures = int32(n)
	}
	return e, map[string]string{
		sdk.MetaType:    sdk.TypeScheduler,
		sdk.MetaName:    name,
		sdk.MetaVersion: version,
	}, nil
}

func main() {}
