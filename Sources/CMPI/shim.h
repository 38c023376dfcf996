// The C header PerceptronDistributed reads from Open MPI, and the handles
// Swift cannot import from it.
//
// Open MPI's MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM and the like are macros that
// take the address of a global object (`&ompi_mpi_comm_world`, cast), which
// Swift does not import as constants; each is returned here by a function
// the compiler inlines. pkg-config (ompi-c) supplies the include path.
#ifndef PERCEPTRON_CMPI_SHIM_H
#define PERCEPTRON_CMPI_SHIM_H

#include <mpi.h>
#include <sys/prctl.h>

static inline MPI_Comm perceptron_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm perceptron_mpi_comm_null(void) { return MPI_COMM_NULL; }

static inline MPI_Datatype perceptron_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype perceptron_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype perceptron_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype perceptron_mpi_byte(void) { return MPI_BYTE; }

static inline MPI_Op perceptron_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op perceptron_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op perceptron_mpi_min(void) { return MPI_MIN; }

static inline MPI_Errhandler perceptron_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline MPI_Request perceptron_mpi_request_null(void) { return MPI_REQUEST_NULL; }

/// MPI_IN_PLACE: the send buffer of a collective that works in its receive buffer.
static inline void *perceptron_mpi_in_place(void) { return MPI_IN_PLACE; }

/// MPI_Test without a status (MPI_STATUS_IGNORE is a null pointer cast).
static inline int perceptron_mpi_test(MPI_Request *request, int *done) {
    return MPI_Test(request, done, MPI_STATUS_IGNORE);
}

/// Sets the calling thread's timer slack (how much later than asked the
/// kernel may end its sleeps, 50 µs by default) to `nanoseconds`; prctl is
/// variadic, which Swift does not import. Returns prctl's result.
static inline int perceptron_set_timer_slack(unsigned long nanoseconds) {
    return prctl(PR_SET_TIMERSLACK, nanoseconds, 0UL, 0UL, 0UL);
}

#endif
