/* mpirun -np N regula train: the command starts MPI when an MPI launcher started it and
 * hands MPI_COMM_WORLD to the library (rg_context_params.mpi_comm). Rank 0 prints; the
 * others' stdout goes to /dev/null, their stderr stays (a failing rank names its cause).
 * A failure on any rank ends every rank (MPI_Abort), never a hang. */
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"

#ifdef REGULA_HAVE_MPI
#include <mpi.h>

static int g_mpi_ranks, g_mpi_rank;
static MPI_Comm g_group = MPI_COMM_NULL;

/* Open MPI's mpirun, PMIx launchers (srun --mpi=pmix) and PMI-1/2 launchers set these. */
static int launched_by_mpi(void)
{
    if (getenv("REGULA_MPI_CHILD")) /* a sweep's trial: a process of its own, not a rank */
        return 0;
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK") ||
           getenv("PMI_SIZE");
}

int rg_cli_mpi_start(int *argc, char ***argv)
{
    if (!launched_by_mpi())
        return 0;
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return rg_cli_fail(1, "MPI_Init failed: cannot join the MPI job");
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_mpi_ranks);
    g_mpi_rank = rank;
    if (rank != 0 && !freopen("/dev/null", "w", stdout))
        return rg_cli_fail(1, "rank %d: cannot silence stdout", rank);
    return 0;
}

const void *rg_cli_mpi_comm(void)
{
    static MPI_Comm world;
    if (!g_mpi_ranks)
        return NULL;
    if (g_group != MPI_COMM_NULL)
        return &g_group;
    world = MPI_COMM_WORLD;
    return &world;
}

int rg_cli_mpi_group(int k)
{
    if (!g_mpi_ranks || k < 1 || g_mpi_ranks % k != 0)
        return -1;
    if (g_group != MPI_COMM_NULL)
        MPI_Comm_free(&g_group);
    return MPI_Comm_split(MPI_COMM_WORLD, g_mpi_rank / k, g_mpi_rank, &g_group) == MPI_SUCCESS
               ? 0
               : -1;
}

int rg_cli_mpi_group_bcast(int *v, int n)
{
    if (g_group == MPI_COMM_NULL)
        return -1;
    return MPI_Bcast(v, n, MPI_INT, 0, g_group) == MPI_SUCCESS ? 0 : -1;
}

int rg_cli_mpi_rank(void) { return g_mpi_rank; }

int rg_cli_mpi_ranks(void) { return g_mpi_ranks ? g_mpi_ranks : 1; }

int rg_cli_mpi_any(int flag)
{
    if (g_mpi_ranks <= 1)
        return flag;
    int any = 0;
    if (MPI_Allreduce(&flag, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS)
        return 1;
    return any;
}

int rg_cli_mpi_group_barrier(void)
{
    if (g_group == MPI_COMM_NULL)
        return -1;
    return MPI_Barrier(g_group) == MPI_SUCCESS ? 0 : -1;
}

int rg_cli_mpi_finish(int code)
{
    if (!g_mpi_ranks)
        return code;
    fflush(stdout);
    fflush(stderr);
    if (g_group != MPI_COMM_NULL && code == 0)
        MPI_Comm_free(&g_group);
    if (code != 0 && g_mpi_ranks > 1)
        MPI_Abort(MPI_COMM_WORLD, code); /* the other ranks may be waiting on this one */
    MPI_Finalize();
    return code;
}
#else
int rg_cli_mpi_start(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

const void *rg_cli_mpi_comm(void) { return NULL; }

int rg_cli_mpi_rank(void) { return 0; }

int rg_cli_mpi_ranks(void) { return 1; }

int rg_cli_mpi_any(int flag) { return flag; }

int rg_cli_mpi_group(int k)
{
    (void)k;
    return -1;
}

int rg_cli_mpi_group_bcast(int *v, int n)
{
    (void)v, (void)n;
    return -1;
}

int rg_cli_mpi_group_barrier(void) { return -1; }

int rg_cli_mpi_finish(int code) { return code; }
#endif
