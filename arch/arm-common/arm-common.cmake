# What the Arm ports (arch/aarch64, arch/arm32) share: the GICv2 and PL011
# drivers, the generic-timer idle wait, the long-descriptor page tables,
# panic, and the C library glue (libc/picolibc.c or libc/newlib.c, chosen by
# UV_LIBC). Each port keeps only what differs: entry and vectors, the crash
# report, system registers (arch/cpu.h), the MMU registers and its
# page-table geometry (arch/mmu_geom.h), and its linker script.
#
# uv_arm_port(LINKER_SCRIPT file STRICT_ALIGN flags...): from the port's
# CMakeLists.txt. Builds uvhost_arch, an OBJECT library so that _start and
# the vectors, which nothing references by name, always reach the image.
enable_language(ASM)
set(UV_ARM_COMMON_DIR ${CMAKE_CURRENT_LIST_DIR})
set(UV_LIBC "picolibc" CACHE STRING "C library of the unikernel: picolibc or newlib")
set_property(CACHE UV_LIBC PROPERTY STRINGS picolibc newlib)

function(uv_arm_port)
  cmake_parse_arguments(A "" "LINKER_SCRIPT" "STRICT_ALIGN" ${ARGN})
  set(port ${CMAKE_CURRENT_SOURCE_DIR})
  file(GLOB sources CONFIGURE_DEPENDS ${port}/src/*.c ${port}/src/*.S
                                      ${UV_ARM_COMMON_DIR}/src/*.c)
  if(NOT EXISTS ${UV_ARM_COMMON_DIR}/libc/${UV_LIBC}.c)
    message(FATAL_ERROR "UV_LIBC=${UV_LIBC}: no arch/arm-common/libc/${UV_LIBC}.c")
  endif()
  list(APPEND sources ${UV_ARM_COMMON_DIR}/libc/${UV_LIBC}.c)
  add_library(uvhost_arch OBJECT ${sources})
  # The port's headers first: arch/cpu.h and arch/mmu_geom.h are its own.
  set(includes ${port}/include ${UV_ARM_COMMON_DIR}/include)
  target_include_directories(uvhost_arch PUBLIC ${includes})
  target_link_libraries(uvhost_arch PUBLIC uvhost_kernel)
  # The page tables are built with the MMU off, where every access is
  # Device memory: no unaligned accesses, and no loops turned into memset
  # (which may use DC ZVA or unaligned stores).
  set_source_files_properties(${UV_ARM_COMMON_DIR}/src/mmu_map.c ${port}/src/mmu_early.c
    TARGET_DIRECTORY uvhost_arch PROPERTIES
    COMPILE_OPTIONS "${A_STRICT_ALIGN};-fno-tree-loop-distribute-patterns")
  set(UV_ARCH_LINKER_SCRIPT ${A_LINKER_SCRIPT} CACHE INTERNAL "")
  # kernel/hw drivers reach the port through kern/hw_arch.h -> arch/hw.h
  # (kernel/ comes first in the tree, so the include path is added here).
  if(TARGET uvhost_kernel_hw)
    target_include_directories(uvhost_kernel_hw PUBLIC ${includes})
  endif()
endfunction()
