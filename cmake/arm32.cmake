# Toolchain for the 32-bit Arm service VM (ARMv7-A, QEMU virt -cpu
# cortex-a15): Debian's arm-none-eabi-gcc with newlib (gcc-arm-none-eabi,
# libnewlib-arm-none-eabi), or with picolibc (picolibc-arm-none-eabi) when
# configured with -DUV_LIBC=picolibc. Thumb-2, no FPU: the multilib both C
# libraries ship as thumb/v7-a/nofp. Bare metal: no PIE, static, our own
# entry (arch/arm32/src/start.S) instead of a crt0.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_AR arm-none-eabi-ar CACHE FILEPATH "")
set(CMAKE_RANLIB arm-none-eabi-ranlib CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")

if(NOT UV_LIBC)
  set(UV_LIBC newlib CACHE STRING "C library of the unikernel: newlib or picolibc")
endif()
# arm-none-eabi-gcc makes int32_t `long` (32 bits as well); the code prints
# uint32_t with %u, as every Linux ABI allows. Re-type the 32-bit integers as
# int before any header sees them, as Zephyr does: both C libraries build
# <stdint.h> and the PRI macros of <inttypes.h> from these, and the ABI is
# unchanged (same size, alignment and calling convention).
set(UV_ARM32_INT32 "-U__INT32_TYPE__ -D__INT32_TYPE__=int -U__UINT32_TYPE__ \
-D__UINT32_TYPE__=\"unsigned int\" -U__INT_LEAST32_TYPE__ -D__INT_LEAST32_TYPE__=int \
-U__UINT_LEAST32_TYPE__ -D__UINT_LEAST32_TYPE__=\"unsigned int\"")
set(UV_ARM32_FLAGS "${UV_ARM32_INT32} -march=armv7-a -mtune=cortex-a15 -mthumb -mfloat-abi=soft \
-fno-pie -fno-stack-protector -ffunction-sections -fdata-sections \
-fno-asynchronous-unwind-tables -fno-unwind-tables")
if(UV_LIBC STREQUAL "picolibc")
  # Not the integer-only printf of aarch64 (cmake/aarch64-picolibc.cmake):
  # picolibc's __i_vfprintf has no long long, which is what PRIu64 is on a
  # 32-bit CPU. The float variant is the smallest that prints 64-bit values.
  set(UV_ARM32_FLAGS "--specs=picolibc.specs -DPICOLIBC_FLOAT_PRINTF_SCANF ${UV_ARM32_FLAGS}")
  set(UV_ARM32_LINK "")
else()
  # Full newlib (newlib-nano prints no 64-bit integers); its system calls
  # are arch/arm-common/libc/newlib.c, not libnosys.
  # Integer-only printf family (newlib's iprintf variants keep long long):
  # no float formatting, _dtoa or its heap in the image.
  set(UV_ARM32_LINK "-Wl,--gc-sections -Wl,--defsym=printf=iprintf -Wl,--defsym=snprintf=sniprintf \
-Wl,--defsym=vsnprintf=vsniprintf -Wl,--defsym=vprintf=viprintf -Wl,--defsym=fprintf=fiprintf \
-Wl,--defsym=vfprintf=vfiprintf")
  # newlib's own <stdint.h>, which its <inttypes.h> is written against (GCC's
  # would leave PRIu64 and friends undefined).
  set(UV_ARM32_FLAGS "-isystem /usr/lib/arm-none-eabi/include ${UV_ARM32_FLAGS}")
endif()
set(CMAKE_C_FLAGS_INIT "${UV_ARM32_FLAGS}")
set(CMAKE_ASM_FLAGS_INIT "${UV_ARM32_FLAGS}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-nostartfiles -static -no-pie ${UV_ARM32_LINK}")

# try_compile cannot link without our linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
