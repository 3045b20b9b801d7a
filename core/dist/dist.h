/* Data-parallel training over MPI: what the trainer needs of a communicator. Every rank
 * holds the whole model and trains rows [lo, hi) of each global batch; gradients and the
 * step's scalars are summed over the ranks. Without MPI (the build has none, or the host
 * gave no communicator) it is the one-rank group and every call returns at once. */
#ifndef RG_CORE_DIST_H
#define RG_CORE_DIST_H

#include <stdint.h>

#include "regula/status.h"

typedef struct rg_dist {
    int rank, size;
    void *comm; /* the library's own MPI_Comm (a duplicate of the host's), or NULL */
} rg_dist;

/* 1 if this libregula was built with MPI. */
int rg_dist_available(void);
/* The one-rank group. */
void rg_dist_single(rg_dist *d);
/* A group over a duplicate of *(const MPI_Comm *)mpi_comm; RG_ERR_UNSUPPORTED when the
 * library was built without MPI or MPI is not initialized. */
rg_status rg_dist_create(const void *mpi_comm, rg_dist *d);
void rg_dist_destroy(rg_dist *d);
/* In-place sums over the ranks (MPI_Allreduce); every rank gets the same bits. */
rg_status rg_dist_sum_floats(const rg_dist *d, float *buf, int64_t n);
rg_status rg_dist_sum_doubles(const rg_dist *d, double *buf, int64_t n);
/* Reductions in flight (MPI_Iallreduce), started in order and waited for together: how
 * the trainer overlaps the gradients' sums with backward. */
typedef struct rg_dist_ops {
    void *reqs; /* MPI_Request[cap] */
    int count, cap;
} rg_dist_ops;
rg_status rg_dist_ops_init(rg_dist_ops *o, int cap);
void rg_dist_ops_free(rg_dist_ops *o);
/* Starts the in-place sum of buf over the ranks; buf must stay untouched until the wait. */
rg_status rg_dist_isum_floats(const rg_dist *d, rg_dist_ops *o, float *buf, int64_t n);
/* Lets MPI advance what is in flight (Open MPI progresses only inside MPI calls). */
void rg_dist_ops_progress(rg_dist_ops *o);
rg_status rg_dist_ops_wait(rg_dist_ops *o);
/* The bytes of rank 0, on every rank. */
rg_status rg_dist_broadcast(const rg_dist *d, void *buf, int64_t bytes);
/* This rank's rows of a global batch of n: contiguous, in rank order, sizes differing by
 * at most one. */
void rg_dist_rows(const rg_dist *d, int64_t n, int64_t *lo, int64_t *hi);

#endif
