package sdk

import "context"

// Searcher is implemented by manager plugins (loaded by manager).
type Searcher interface {
	// FindSchedulerClusters returns the clusters suitable for the client with the
	// given ip, hostname and conditions, best first.
	FindSchedulerClusters(ctx context.Context, clusters []SchedulerCluster, ip, hostname string, conditions map[string]string) ([]SchedulerCluster, error)
}

// SchedulerCluster is a cluster of schedulers.
type SchedulerCluster struct {
	ID     uint64
	Name   string
	Scopes map[string]string
}
