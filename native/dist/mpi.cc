// libmpi by dlopen: the two ABIs (Open MPI's pointer handles, MPICH's integer handles) behind
// class Mpi (mpi.h). Check: npx vitest run test/distributed/collectives.test.ts
#include "mpi.h"

#include <dlfcn.h>

#include <cstdlib>
#include <vector>

namespace wgdist {
namespace {

constexpr int kSlots = 4;

// H: the handle type of MPI_Comm / MPI_Datatype / MPI_Op / MPI_Request / MPI_Errhandler
// (a pointer in Open MPI, an int in MPICH).
template <class H>
class MpiImpl : public Mpi {
 public:
  struct Consts {
    H comm, f32, f64, i32, u8, sum, max, min, errorsReturn;
    void* inPlace;
    void* statusIgnore;
  };

  int (*init_thread_)(int*, char***, int, int*) = nullptr;
  int (*finalize_)() = nullptr;
  int (*comm_rank_)(H, int*) = nullptr;
  int (*comm_size_)(H, int*) = nullptr;
  int (*iallreduce_)(const void*, void*, int, H, H, H, H*) = nullptr;
  int (*ibcast_)(void*, int, H, int, H, H*) = nullptr;
  int (*iallgather_)(const void*, int, H, void*, int, H, H, H*) = nullptr;
  int (*ireduce_scatter_block_)(const void*, void*, int, H, H, H, H*) = nullptr;
  int (*ibarrier_)(H, H*) = nullptr;
  int (*test_)(H*, int*, void*) = nullptr;
  int (*abort_)(H, int) = nullptr;
  int (*error_string_)(int, char*, int*) = nullptr;
  int (*get_library_version_)(char*, int*) = nullptr;
  int (*comm_set_errhandler_)(H, H) = nullptr;
  Consts c{};
  H req_[kSlots]{};

  bool Resolve(void* lib, std::string* missing) {
    auto sym = [&](auto& fp, const char* name) {
      void* p = dlsym(lib, name);
      if (!p) *missing += std::string(missing->empty() ? "" : ", ") + name;
      fp = reinterpret_cast<std::remove_reference_t<decltype(fp)>>(p);
    };
    sym(init_thread_, "MPI_Init_thread");
    sym(finalize_, "MPI_Finalize");
    sym(comm_rank_, "MPI_Comm_rank");
    sym(comm_size_, "MPI_Comm_size");
    sym(iallreduce_, "MPI_Iallreduce");
    sym(ibcast_, "MPI_Ibcast");
    sym(iallgather_, "MPI_Iallgather");
    sym(ireduce_scatter_block_, "MPI_Ireduce_scatter_block");
    sym(ibarrier_, "MPI_Ibarrier");
    sym(test_, "MPI_Test");
    sym(abort_, "MPI_Abort");
    sym(error_string_, "MPI_Error_string");
    sym(get_library_version_, "MPI_Get_library_version");
    sym(comm_set_errhandler_, "MPI_Comm_set_errhandler");
    return missing->empty();
  }

  H Type(DType d) const {
    switch (d) {
      case DType::F32: return c.f32;
      case DType::F64: return c.f64;
      case DType::I32: return c.i32;
      default: return c.u8;
    }
  }
  H Op(RedOp o) const { return o == RedOp::Sum ? c.sum : o == RedOp::Max ? c.max : c.min; }

  int InitThread(int wanted, int* provided) override {
    int rc = init_thread_(nullptr, nullptr, wanted, provided);
    // errors come back as codes (and become JS exceptions) instead of aborting the job
    if (rc == 0) comm_set_errhandler_(c.comm, c.errorsReturn);
    return rc;
  }
  int Finalize() override { return finalize_(); }
  int Rank(int* r) override { return comm_rank_(c.comm, r); }
  int Size(int* s) override { return comm_size_(c.comm, s); }
  int Iallreduce(const void* send, void* recv, int count, DType dt, RedOp op, int slot) override {
    return iallreduce_(send == recv ? c.inPlace : send, recv, count, Type(dt), Op(op), c.comm, &req_[slot]);
  }
  int Ibcast(void* buf, int count, DType dt, int root, int slot) override {
    return ibcast_(buf, count, Type(dt), root, c.comm, &req_[slot]);
  }
  int Iallgather(const void* send, int count, DType dt, void* recv, int slot) override {
    return iallgather_(send, count, Type(dt), recv, count, Type(dt), c.comm, &req_[slot]);
  }
  int IreduceScatterBlock(const void* send, void* recv, int count, DType dt, RedOp op, int slot) override {
    return ireduce_scatter_block_(send, recv, count, Type(dt), Op(op), c.comm, &req_[slot]);
  }
  int Ibarrier(int slot) override { return ibarrier_(c.comm, &req_[slot]); }
  int Test(int slot, int* done) override { return test_(&req_[slot], done, c.statusIgnore); }
  void Abort(int code) override { abort_(c.comm, code); }
  std::string ErrorString(int code) override {
    char buf[1024];
    int len = 0;
    if (error_string_(code, buf, &len) != 0) return "MPI error " + std::to_string(code);
    return std::string(buf, len > 0 ? size_t(len) : 0);
  }
  std::string LibraryVersion() override {
    std::vector<char> buf(8192);  // >= MPI_MAX_LIBRARY_VERSION_STRING of both
    int len = 0;
    if (get_library_version_(buf.data(), &len) != 0) return "";
    std::string s(buf.data(), len > 0 ? size_t(len) : 0);
    auto nl = s.find('\n');
    if (nl != std::string::npos) s.resize(nl);
    while (!s.empty() && (s.back() == ',' || s.back() == ' ' || s.back() == '\0')) s.pop_back();
    return s;
  }
};

std::unique_ptr<Mpi> OpenMpi(void* lib, std::string* missing) {
  using H = void*;
  auto m = std::make_unique<MpiImpl<H>>();
  auto g = [&](const char* name) -> H {
    void* p = dlsym(lib, name);
    if (!p) *missing += std::string(missing->empty() ? "" : ", ") + name;
    return p;
  };
  m->c.comm = g("ompi_mpi_comm_world");
  m->c.f32 = g("ompi_mpi_float");
  m->c.f64 = g("ompi_mpi_double");
  m->c.i32 = g("ompi_mpi_int");
  m->c.u8 = g("ompi_mpi_byte");
  m->c.sum = g("ompi_mpi_op_sum");
  m->c.max = g("ompi_mpi_op_max");
  m->c.min = g("ompi_mpi_op_min");
  m->c.errorsReturn = g("ompi_mpi_errors_return");
  m->c.inPlace = reinterpret_cast<void*>(1);
  m->c.statusIgnore = nullptr;
  m->Resolve(lib, missing);
  m->implementation = "Open MPI";
  if (!missing->empty()) return nullptr;
  return m;
}

std::unique_ptr<Mpi> Mpich(void* lib, std::string* missing) {
  using H = int;
  auto m = std::make_unique<MpiImpl<H>>();
  // MPICH's mpi.h (the ABI MPICH, Intel MPI and MVAPICH share)
  m->c.comm = 0x44000000;
  m->c.f32 = 0x4c00040a;
  m->c.f64 = 0x4c00080b;
  m->c.i32 = 0x4c000405;
  m->c.u8 = 0x4c00010d;
  m->c.max = 0x58000001;
  m->c.min = 0x58000002;
  m->c.sum = 0x58000003;
  m->c.errorsReturn = 0x54000001;
  m->c.inPlace = reinterpret_cast<void*>(intptr_t(-1));
  m->c.statusIgnore = reinterpret_cast<void*>(intptr_t(1));
  m->Resolve(lib, missing);
  m->implementation = "MPICH";
  if (!missing->empty()) return nullptr;
  return m;
}

}  // namespace

std::unique_ptr<Mpi> LoadMpi(std::string* error) {
  std::vector<std::string> names;
  if (const char* env = std::getenv("WATTGRAD_MPI_LIB"); env && *env) names.push_back(env);
  else names = {"libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so"};  // Debian names MPICH's libmpich.so.12
  std::string tried;
  for (const auto& n : names) {
    // RTLD_GLOBAL: Open MPI's components (mca_*.so), which it dlopens itself, resolve their
    // references to libmpi/libopen-pal against the global scope.
    void* lib = dlopen(n.c_str(), RTLD_NOW | RTLD_GLOBAL);
    if (!lib) {
      const char* e = dlerror();
      tried += std::string(tried.empty() ? "" : "; ") + (e ? e : n);
      continue;
    }
    std::string missing;
    std::unique_ptr<Mpi> m;
    if (dlsym(lib, "ompi_mpi_comm_world")) m = OpenMpi(lib, &missing);
    else m = Mpich(lib, &missing);
    if (m) {
      m->library = n;
      return m;
    }
    tried += std::string(tried.empty() ? "" : "; ") + n + " lacks " + missing;
    dlclose(lib);
  }
  *error =
      "could not load an MPI library (" + tried +
      "). Install Open MPI (Debian/Ubuntu: apt-get install openmpi-bin libopenmpi-dev; Fedora/RHEL: dnf install "
      "openmpi openmpi-devel, then module load mpi/openmpi-x86_64) or MPICH, or point WATTGRAD_MPI_LIB at libmpi.so";
  return nullptr;
}

}  // namespace wgdist
