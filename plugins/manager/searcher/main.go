// Command searcher is a manager plugin choosing scheduler clusters by matching
// the client's conditions against cluster scopes. Build it with
// go build -buildmode=plugin into d7y-manager-plugin-searcher.so.
package main

import (
	"context"
	"errors"
	"sort"

	"plugin-builder.dev/host/sdk"
)

const (
	name    = "searcher"
	version = "0.1.0"
)

type searcher struct{}

var _ sdk.Searcher = searcher{}

// matches counts the conditions that cluster's scopes satisfy.
func matches(c sdk.SchedulerCluster, conditions map[string]string) int {
	n := 0
	for k, v := range conditions {
		if s, ok := c.Scopes[k]; ok && s == v {
			n++
		}
	}
	return n
}

// FindSchedulerClusters returns the clusters matching at least one condition,
// most matches first, or all clusters when none matches.
func (searcher) FindSchedulerClusters(ctx context.Context, clusters []sdk.SchedulerCluster, ip, hostname string, conditions map[string]string) ([]sdk.SchedulerCluster, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(clusters) == 0 {
		return nil, errors.New("searcher: no scheduler clusters")
	}
	var found []sdk.SchedulerCluster
	for _, c := range clusters {
		if matches(c, conditions) > 0 {
			found = append(found, c)
		}
	}
	if len(found) == 0 {
		return append([]sdk.SchedulerCluster(nil), clusters...), nil
	}
	sort.SliceStable(found, func(i, j int) bool {
		return matches(found[i], conditions) > matches(found[j], conditions)
	})
	return found, nil
}

// DragonflyPluginInit is the plugin entry point.
func DragonflyPluginInit(options map[string]string) (any, map[string]string, error) {
	return searcher{}, map[string]string{
		sdk.MetaType:    sdk.TypeManager,
		sdk.MetaName:    name,
		sdk.MetaVersion: version,
	}, nil
}

func main() {}
