package io.silk.policy.web;

import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DataAccessResourceFailureException;
import org.springframework.dao.TransientDataAccessException;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.transaction.CannotCreateTransactionException;
import org.springframework.web.HttpRequestMethodNotSupportedException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.servlet.resource.NoResourceFoundException;

/** Every error as {"error": "..."} with cf-networking's status codes. */
@RestControllerAdvice
public class ErrorBodies {

    private static final Logger log = LoggerFactory.getLogger(ErrorBodies.class);

    public static Map<String, String> body(String message) {
        return Map.of("error", message);
    }

    @ExceptionHandler(ApiError.class)
    ResponseEntity<Map<String, String>> refused(ApiError e) {
        var answer = ResponseEntity.status(e.status());
        e.headers().forEach((name, value) -> answer.header(name, value));
        return answer.body(body(e.getMessage()));
    }

    @ExceptionHandler(HttpMessageNotReadableException.class)
    ResponseEntity<Map<String, String>> unreadable(HttpMessageNotReadableException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof RequestSizeLimit.TooLarge tooLarge) {
                return ResponseEntity.badRequest().body(body(RequestSizeLimit.message(tooLarge.max())));
            }
        }
        String detail = e.getMostSpecificCause().getMessage();
        if (detail != null && detail.length() > 300) {
            detail = detail.substring(0, 300);
        }
        return ResponseEntity.badRequest().body(body("mapper: unmarshal json: " + detail));
    }

    @ExceptionHandler({CannotCreateTransactionException.class, DataAccessResourceFailureException.class,
            TransientDataAccessException.class})
    ResponseEntity<Map<String, String>> databaseDown(RuntimeException e) {
        log.atWarn().setMessage("database unavailable").addKeyValue("error", e.getMessage()).log();
        return ResponseEntity.status(HttpStatus.SERVICE_UNAVAILABLE).body(body("database unavailable; retry later"));
    }

    @ExceptionHandler(org.springframework.dao.DataIntegrityViolationException.class)
    ResponseEntity<Map<String, String>> conflict(RuntimeException e) {
        log.atWarn().setMessage("write lost a race with a concurrent change").addKeyValue("error", e.getMessage()).log();
        return ResponseEntity.status(HttpStatus.CONFLICT).body(body("a concurrent change to the same apps got in the way; retry"));
    }

    @ExceptionHandler(HttpRequestMethodNotSupportedException.class)
    ResponseEntity<Map<String, String>> method(HttpRequestMethodNotSupportedException e) {
        return ResponseEntity.status(HttpStatus.METHOD_NOT_ALLOWED).body(body(e.getMessage()));
    }

    @ExceptionHandler(NoResourceFoundException.class)
    ResponseEntity<Map<String, String>> notFound(NoResourceFoundException e) {
        return ResponseEntity.status(HttpStatus.NOT_FOUND).body(body("not found: /" + e.getResourcePath()));
    }
}
