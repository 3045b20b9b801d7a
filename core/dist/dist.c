#include "dist.h"

#include <stdlib.h>

#include "../error.h"

#ifdef REGULA_HAVE_MPI
#include <mpi.h>
#endif

int rg_dist_available(void)
{
#ifdef REGULA_HAVE_MPI
    return 1;
#else
    return 0;
#endif
}

void rg_dist_single(rg_dist *d)
{
    d->rank = 0;
    d->size = 1;
    d->comm = NULL;
}

void rg_dist_rows(const rg_dist *d, int64_t n, int64_t *lo, int64_t *hi)
{
    int64_t r = d ? d->rank : 0, s = d ? d->size : 1;
    *lo = n * r / s;
    *hi = n * (r + 1) / s;
}

#ifdef REGULA_HAVE_MPI
static rg_status mpi_failed(const char *what, int code)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(code, text, &len);
    return rg_error_set(RG_ERR_IO, "MPI: %s failed: %s", what, text);
}

rg_status rg_dist_create(const void *mpi_comm, rg_dist *d)
{
    rg_dist_single(d);
    int init = 0;
    MPI_Initialized(&init);
    if (!init)
        return rg_error_set(RG_ERR_UNSUPPORTED, "MPI: a communicator was given but MPI is not "
                            "initialized (call MPI_Init first)");
    MPI_Comm *own = malloc(sizeof *own);
    if (!own)
        return rg_error_set(RG_ERR_NOMEM, "MPI: out of memory");
    int rc = MPI_Comm_dup(*(const MPI_Comm *)mpi_comm, own);
    if (rc != MPI_SUCCESS) {
        free(own);
        return mpi_failed("MPI_Comm_dup", rc);
    }
    /* errors come back as codes, to be reported, not as the default abort */
    MPI_Comm_set_errhandler(*own, MPI_ERRORS_RETURN);
    MPI_Comm_rank(*own, &d->rank);
    MPI_Comm_size(*own, &d->size);
    d->comm = own;
    return RG_OK;
}

void rg_dist_destroy(rg_dist *d)
{
    if (d->comm) {
        int fin = 0;
        MPI_Finalized(&fin);
        if (!fin)
            MPI_Comm_free((MPI_Comm *)d->comm);
        free(d->comm);
    }
    rg_dist_single(d);
}

/* MPI counts are int: long buffers go in pieces. */
#define RG_DIST_PIECE ((int64_t)1 << 30)

rg_status rg_dist_sum_floats(const rg_dist *d, float *buf, int64_t n)
{
    if (!d || d->size <= 1)
        return RG_OK;
    for (int64_t i = 0; i < n; i += RG_DIST_PIECE) {
        int cnt = (int)(n - i < RG_DIST_PIECE ? n - i : RG_DIST_PIECE);
        int rc = MPI_Allreduce(MPI_IN_PLACE, buf + i, cnt, MPI_FLOAT, MPI_SUM,
                               *(MPI_Comm *)d->comm);
        if (rc != MPI_SUCCESS)
            return mpi_failed("MPI_Allreduce of the gradients", rc);
    }
    return RG_OK;
}

rg_status rg_dist_sum_doubles(const rg_dist *d, double *buf, int64_t n)
{
    if (!d || d->size <= 1)
        return RG_OK;
    int rc = MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_DOUBLE, MPI_SUM, *(MPI_Comm *)d->comm);
    return rc == MPI_SUCCESS ? RG_OK : mpi_failed("MPI_Allreduce of the step's sums", rc);
}

rg_status rg_dist_ops_init(rg_dist_ops *o, int cap)
{
    o->count = 0;
    o->cap = cap;
    o->reqs = calloc((size_t)cap, sizeof(MPI_Request));
    return o->reqs ? RG_OK : rg_error_set(RG_ERR_NOMEM, "MPI: out of memory");
}

void rg_dist_ops_free(rg_dist_ops *o)
{
    free(o->reqs);
    o->reqs = NULL;
    o->count = o->cap = 0;
}

rg_status rg_dist_isum_floats(const rg_dist *d, rg_dist_ops *o, float *buf, int64_t n)
{
    for (int64_t i = 0; i < n; i += RG_DIST_PIECE) {
        if (o->count >= o->cap)
            return rg_error_set(RG_ERR_INVALID, "MPI: more reductions in flight than %d",
                                o->cap);
        int cnt = (int)(n - i < RG_DIST_PIECE ? n - i : RG_DIST_PIECE);
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf + i, cnt, MPI_FLOAT, MPI_SUM,
                                *(MPI_Comm *)d->comm, (MPI_Request *)o->reqs + o->count);
        if (rc != MPI_SUCCESS)
            return mpi_failed("MPI_Iallreduce of the gradients", rc);
        o->count++;
    }
    return RG_OK;
}

void rg_dist_ops_progress(rg_dist_ops *o)
{
    int done = 0;
    if (o->count)
        MPI_Testall(o->count, (MPI_Request *)o->reqs, &done, MPI_STATUSES_IGNORE);
}

rg_status rg_dist_ops_wait(rg_dist_ops *o)
{
    int rc = o->count ? MPI_Waitall(o->count, (MPI_Request *)o->reqs, MPI_STATUSES_IGNORE)
                      : MPI_SUCCESS;
    o->count = 0;
    return rc == MPI_SUCCESS ? RG_OK : mpi_failed("MPI_Waitall of the gradients", rc);
}

rg_status rg_dist_broadcast(const rg_dist *d, void *buf, int64_t bytes)
{
    if (!d || d->size <= 1)
        return RG_OK;
    for (int64_t i = 0; i < bytes; i += RG_DIST_PIECE) {
        int cnt = (int)(bytes - i < RG_DIST_PIECE ? bytes - i : RG_DIST_PIECE);
        int rc = MPI_Bcast((char *)buf + i, cnt, MPI_BYTE, 0, *(MPI_Comm *)d->comm);
        if (rc != MPI_SUCCESS)
            return mpi_failed("MPI_Bcast", rc);
    }
    return RG_OK;
}
#else
rg_status rg_dist_ops_init(rg_dist_ops *o, int cap)
{
    o->reqs = NULL;
    o->count = 0;
    o->cap = cap;
    return RG_OK;
}

void rg_dist_ops_free(rg_dist_ops *o) { o->count = o->cap = 0; }

rg_status rg_dist_isum_floats(const rg_dist *d, rg_dist_ops *o, float *buf, int64_t n)
{
    (void)d, (void)o, (void)buf, (void)n;
    return RG_OK;
}

void rg_dist_ops_progress(rg_dist_ops *o) { (void)o; }

rg_status rg_dist_ops_wait(rg_dist_ops *o)
{
    (void)o;
    return RG_OK;
}

rg_status rg_dist_create(const void *mpi_comm, rg_dist *d)
{
    (void)mpi_comm;
    rg_dist_single(d);
    return rg_error_set(RG_ERR_UNSUPPORTED, "this libregula was built without MPI: rebuild "
                        "with Open MPI installed (libopenmpi-dev) for data-parallel runs");
}

void rg_dist_destroy(rg_dist *d) { rg_dist_single(d); }

rg_status rg_dist_sum_floats(const rg_dist *d, float *buf, int64_t n)
{
    (void)d, (void)buf, (void)n;
    return RG_OK;
}

rg_status rg_dist_sum_doubles(const rg_dist *d, double *buf, int64_t n)
{
    (void)d, (void)buf, (void)n;
    return RG_OK;
}

rg_status rg_dist_broadcast(const rg_dist *d, void *buf, int64_t bytes)
{
    (void)d, (void)buf, (void)bytes;
    return RG_OK;
}
#endif
