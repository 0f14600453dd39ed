// libmpi opened at run time (dlopen), never linked: the addon loads where MPI is absent, and the
// first initProcessGroup({ backend: 'mpi' }) says what to install.
//
// MPI's handles are implementation-specific, so no mpi.h is included:
//   Open MPI (libmpi.so.40): MPI_Comm / MPI_Datatype / MPI_Op / MPI_Request are pointers; the
//     predefined ones are the addresses of global objects (ompi_mpi_comm_world, ompi_mpi_float,
//     ompi_mpi_op_sum, ...) found with dlsym; MPI_IN_PLACE is (void*)1, MPI_STATUS_IGNORE is 0.
//     Verified here (Debian's Open MPI 4.1, 2 and 3 ranks).
//   MPICH ABI (libmpi.so.12 / libmpich.so.12: MPICH, Intel MPI, MVAPICH): the handles are ints
//     with fixed values from MPICH's mpi.h (MPI_COMM_WORLD 0x44000000, MPI_FLOAT 0x4c00040a, ...);
//     MPI_IN_PLACE is (void*)-1, MPI_STATUS_IGNORE is (MPI_Status*)1. Verified with Debian's MPICH
//     4.0.2 (mpiexec.hydra, 2 and 3 ranks; tests run it when it is installed). Intel MPI and
//     MVAPICH share the ABI but were not run.
// Both are reached through one interface (class Mpi), with the handle type as a template
// parameter, so each call goes through a function pointer of the exact C signature.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace wgdist {

enum class DType { F32 = 0, F64 = 1, I32 = 2, U8 = 3 };
enum class RedOp { Sum = 0, Max = 1, Min = 2 };

class Mpi {
 public:
  virtual ~Mpi() = default;
  // Each call returns the MPI error code (0: MPI_SUCCESS). Count is in elements.
  virtual int InitThread(int wanted, int* provided) = 0;
  virtual int Finalize() = 0;
  virtual int Rank(int* r) = 0;
  virtual int Size(int* s) = 0;
  // Non-blocking collectives on MPI_COMM_WORLD; *req identifies the request for Test.
  // send == recv means in place (MPI_IN_PLACE).
  virtual int Iallreduce(const void* send, void* recv, int count, DType dt, RedOp op, int slot) = 0;
  virtual int Ibcast(void* buf, int count, DType dt, int root, int slot) = 0;
  virtual int Iallgather(const void* send, int count, DType dt, void* recv, int slot) = 0;
  virtual int IreduceScatterBlock(const void* send, void* recv, int count, DType dt, RedOp op, int slot) = 0;
  virtual int Ibarrier(int slot) = 0;
  // MPI_Test on the request in `slot`; *done = 1 when it completed.
  virtual int Test(int slot, int* done) = 0;
  virtual void Abort(int code) = 0;
  virtual std::string ErrorString(int code) = 0;
  virtual std::string LibraryVersion() = 0;

  std::string library;         // the file that was opened
  std::string implementation;  // "Open MPI" or "MPICH"
};

// Opens libmpi (WATTGRAD_MPI_LIB, else libmpi.so.40, libmpi.so.12, libmpich.so.12, libmpi.so) and resolves every
// symbol. On failure returns null and sets *error to what was tried and what to install.
std::unique_ptr<Mpi> LoadMpi(std::string* error);

// MPI_THREAD_* (the same values in Open MPI and MPICH)
constexpr int kThreadSingle = 0, kThreadFunneled = 1, kThreadSerialized = 2, kThreadMultiple = 3;

inline size_t DTypeBytes(DType d) { return d == DType::F64 ? 8 : d == DType::U8 ? 1 : 4; }

}  // namespace wgdist
