"""The assignment's template, untouched: every result is still None."""

import numpy as np


def affine_forward(x, w, b):
    out = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    cache = None
    return out, cache


def affine_backward(dout, cache):
    dx = None
    dw = None
    db = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    return dx, dw, db


def relu_forward(x):
    out = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    cache = None
    return out, cache


def relu_backward(dout, cache):
    dx = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    return dx


def conv_forward_naive(x, w, b, conv_param):
    out = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    cache = None
    return out, cache


def conv_backward_naive(dout, cache):
    dx = None
    dw = None
    db = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    out = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    cache = None
    return out, cache


def max_pool_backward_naive(dout, cache):
    dx = None
    ###########################################################################
    # TODO: Implement this function.                                          #
    ###########################################################################
    pass
    return dx
