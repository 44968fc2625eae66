# Install and export rules: the libraries with namespaced targets (find_package(lenet) -> lenet::lenet,
# lenet::vision), their headers, lenet.pc and lenet-vision.pc, the CLI and the shipped model under
# share/lenet/models (where the installed CLI looks for it: apps/lenet/paths.cpp). Everything written is
# relocatable: `cmake --install build --prefix DIR` works for any DIR.
include(CMakePackageConfigHelpers)

set(LENET_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/lenet)
install(TARGETS lenet_core lenet_vision EXPORT lenetTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# The headers of the installed libraries; the CLI's own (the reports' pictures, the HTTP server) stay out.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/lenet ${LENET_GENERATED_INCLUDE}/lenet
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.h" PATTERN "server*.h" EXCLUDE PATTERN "report.h" EXCLUDE PATTERN "canvas.h" EXCLUDE)
install(EXPORT lenetTargets NAMESPACE lenet:: DESTINATION ${LENET_CMAKE_DIR})

get_target_property(LENET_CORE_TYPE lenet_core TYPE)
if(LENET_CORE_TYPE STREQUAL "STATIC_LIBRARY")
  set(LENET_STATIC ON)
else()
  set(LENET_STATIC OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/lenetConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/lenetConfig.cmake INSTALL_DESTINATION ${LENET_CMAKE_DIR})
# 0.x: a minor version may break the API, so 0.2 accepts 0.2.* only.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/lenetConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/lenetConfig.cmake ${PROJECT_BINARY_DIR}/lenetConfigVersion.cmake
        DESTINATION ${LENET_CMAKE_DIR})

# A .pc field's dependencies: in VAR for a static library (its consumer links them itself), in VAR_PRIVATE
# for a shared one (pkg-config --static still lists them).
function(lenet_pc_dependencies var value)
  if(LENET_STATIC)
    set(${var} "${value}" PARENT_SCOPE)
    set(${var}_PRIVATE "" PARENT_SCOPE)
  else()
    set(${var} "" PARENT_SCOPE)
    set(${var}_PRIVATE "${value}" PARENT_SCOPE)
  endif()
endfunction()

# pkg-config: the prefix is found from the .pc file's own place. With static libraries the private
# dependencies go into Libs, so that `pkg-config --libs lenet` links without --static.
file(RELATIVE_PATH LENET_PC_TO_PREFIX ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig
     ${CMAKE_INSTALL_PREFIX})
string(REGEX REPLACE "/$" "" LENET_PC_TO_PREFIX "${LENET_PC_TO_PREFIX}")
set(LENET_PC_DEPENDENCIES "-lz")
foreach(lib ${OpenMP_CXX_LIB_NAMES})
  string(APPEND LENET_PC_DEPENDENCIES " -l${lib}")
endforeach()
string(APPEND LENET_PC_DEPENDENCIES " -pthread")
lenet_pc_dependencies(LENET_PC_LIBS "${LENET_PC_DEPENDENCIES}")
# pkg-config modules of lenet::vision's decoders (the same list as CMakeLists.txt's LENET_DECODERS, plus giflib's):
# in Requires for a static lenet_vision (a consumer links them), Requires.private for a shared one.
set(LENET_VISION_PC_MODULES "libpng libjpeg libwebp libwebpdemux libtiff-4 libexif libgif")
lenet_pc_dependencies(LENET_VISION_PC_REQUIRES "${LENET_VISION_PC_MODULES}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/lenet.pc.in ${PROJECT_BINARY_DIR}/lenet.pc @ONLY)
configure_file(${PROJECT_SOURCE_DIR}/cmake/lenet-vision.pc.in ${PROJECT_BINARY_DIR}/lenet-vision.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/lenet.pc ${PROJECT_BINARY_DIR}/lenet-vision.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

install(FILES ${PROJECT_SOURCE_DIR}/models/lenet5.bin DESTINATION ${CMAKE_INSTALL_DATADIR}/lenet/models)
install(FILES ${PROJECT_SOURCE_DIR}/LICENSE DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/lenet)
if(LENET_BUILD_CLI)
  install(TARGETS lenet RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
