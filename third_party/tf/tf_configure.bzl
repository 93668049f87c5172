"""Repository rule exposing the installed TensorFlow to Bazel as @local_config_tf."""

_QUERY = """
import tensorflow as tf
print(tf.sysconfig.get_include())
print(tf.sysconfig.get_lib())
print(' '.join(f for f in tf.sysconfig.get_compile_flags() if not f.startswith('-I')))
"""

def _tf_configure_impl(ctx):
    python = ctx.os.environ.get("TF_PYTHON", "python3")
    result = ctx.execute([python, "-c", _QUERY], environment = {"TF_CPP_MIN_LOG_LEVEL": "3"})
    if result.return_code != 0:
        fail("cannot import tensorflow with %s: %s" % (python, result.stderr))
    include_dir, lib_dir, cflags = result.stdout.strip().split("\n")[-3:]
    ctx.symlink(include_dir, "include")
    ctx.symlink(lib_dir + "/libtensorflow_framework.so.2", "libtensorflow_framework.so.2")
    ctx.file("flags.bzl", "TF_COPTS = %s\n" % repr(cflags.split(" ")))
    ctx.file("BUILD", """
package(default_visibility = ["//visibility:public"])

cc_library(
    name = "tf_header_lib",
    hdrs = glob(["include/**/*"]),
    includes = ["include"],
)

cc_import(
    name = "libtensorflow_framework",
    shared_library = "libtensorflow_framework.so.2",
)
""")

tf_configure = repository_rule(
    implementation = _tf_configure_impl,
    environ = ["TF_PYTHON"],
    local = True,
)
