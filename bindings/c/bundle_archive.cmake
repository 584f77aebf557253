# cmake -DAR=ar -DMRI=script.mri -DOUT=lib.a -P bundle_archive.cmake
# Builds OUT from the archives an `ar -M` script lists (no shell redirection,
# so no quoting trouble in the build tool).
file(REMOVE ${OUT})
execute_process(COMMAND ${AR} -M INPUT_FILE ${MRI} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "ar -M ${MRI} failed (${rc})")
endif()
